"""Results files name no machine's directories: the tools record paths inside the repository
relative to it, and no committed file under results/ holds an absolute path."""
import glob
import os
import re

from faceparse_mm.utils.results import REPO_ROOT, recorded_command, repo_relative

#: an absolute path of two or more components that is not part of a URL (``https://a/b``)
ABSOLUTE = re.compile(r'(?<![\w.:/~-])/(?:[\w.+-]+/)+[\w.+-]+')


def test_paths_inside_the_repository_become_relative():
    inside = os.path.join(REPO_ROOT, 'work_dirs', 'zoo', 'demo', 'x', 'best.pth')
    assert repo_relative(inside) == os.path.join('work_dirs', 'zoo', 'demo', 'x', 'best.pth')
    assert repo_relative(REPO_ROOT + '-other/best.pth') == REPO_ROOT + '-other/best.pth'
    assert repo_relative('/elsewhere/best.pth') == '/elsewhere/best.pth'
    assert repo_relative('configs/a.py') == 'configs/a.py'
    assert repo_relative(None) is None
    command = recorded_command('tools/analysis/robustness.py',
                               ['configs/a.py', inside, '--out', 'results/r.csv', 'a b'])
    assert command == ('python tools/analysis/robustness.py configs/a.py '
                       'work_dirs/zoo/demo/x/best.pth --out results/r.csv \'a b\'')


def test_the_pattern_finds_absolute_paths_and_not_urls():
    assert ABSOLUTE.search('x,/home/me/run/best.pth,y')
    assert ABSOLUTE.search('python t.py "/data/x/y.pth"')
    assert not ABSOLUTE.search('https://github.com/a/b and work_dirs/zoo/x.pth and 1/2')


def test_no_committed_results_file_names_an_absolute_path():
    files = [p for ext in ('csv', 'json', 'md')
             for p in glob.glob(os.path.join(REPO_ROOT, 'results', '**', f'*.{ext}'),
                                recursive=True)]
    assert files
    for path in files:
        with open(path, encoding='utf-8') as f:
            for number, line in enumerate(f, 1):
                found = ABSOLUTE.search(line)
                assert not found, (f'{os.path.relpath(path, REPO_ROOT)}:{number} names '
                                   f'{found.group(0)!r}: record it relative to the repository')
