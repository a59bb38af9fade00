"""How far each user config is from its authors' function: the stored reference comparisons,
measured, into ``results/fidelity.csv``.

    python tools/analysis/fidelity.py [--out results/fidelity.csv]

Runs the tests that compare our models with the authors' stored outputs
(``tests/converters``: each reference in ``tests/data/reference/<name>.json`` was made once by
running the authors' code on formula weights, and the test converts those weights with the
architecture's rule table) and records, per config, the largest difference relative to the
largest reference output over every output compared, the reference files with their repository
and commit, and whether every comparison passed (within ``RTOL``, 1e-4). Configs whose
architecture has no public code by its authors are listed as such; configs without a stored
reference are left out. The README's model table shows the column
(``tools/analysis/make_leaderboard.py``).
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

from faceparse_mm.utils.results import git_commit, recorded_command  # noqa: E402
from tools.analysis.collect_results import write_csv  # noqa: E402

OUT = 'results/fidelity.csv'
REFERENCES = 'tests/data/reference'
TESTS = ['tests/converters', 'tests/tools/test_face_parsing_converter.py']
#: configs whose architecture's authors published no code to compare with
NO_PUBLIC_CODE = {
    'configs/acfnet-r101-d8_celebamask.py': 'ACFNet: no code by its authors',
    'configs/dsrl-deeplabv3plus-r50-d8_celebamask.py': 'DSRL: no code by its authors',
    'configs/deeplabv1-largefov-vgg16_celebamask.py': "DeepLab v1: the authors' Caffe original",
}
COLUMNS = ['config', 'status', 'max_relative_difference', 'outputs_compared', 'references',
           'repositories', 'commits', 'commit', 'date', 'command']


def measure(tests=TESTS) -> dict:
    """Run ``tests`` in a child pytest with the comparisons recorded; their record."""
    with tempfile.TemporaryDirectory() as tmp:
        out = osp.join(tmp, 'fidelity.json')
        env = dict(os.environ, FACEPARSE_FIDELITY_OUT=out,
                   PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
        subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', *tests],
                       cwd=ROOT, env=env, check=False)
        if not osp.isfile(out):
            raise SystemExit('error: the reference tests recorded nothing (did they run?)')
        with open(out) as f:
            return json.load(f)


def rows(record: dict, reference_dir: str = REFERENCES) -> list[dict]:
    """One row per config: the comparisons of the test modules that loaded its references."""
    refs = {}
    for path in sorted(glob.glob(osp.join(ROOT, reference_dir, '*.json'))):
        with open(path) as f:
            data = json.load(f)
        if not data.get('config'):
            raise SystemExit(f'error: {osp.relpath(path, ROOT)} names no config (its "config": '
                             f'the user config whose model it is compared with)')
        refs[osp.splitext(osp.basename(path))[0]] = data
    by_config = {}
    for module, name in record['loaded'].items():
        test_file = module.replace('.', '/') + '.py'
        entry = by_config.setdefault(refs[name]['config'], dict(names=[], measured=[]))
        entry['names'].append(name)
        entry['measured'] += [m for m in record['measured']
                              if m['test'].split('::')[0] == test_file]
    out = []
    for config, entry in sorted(by_config.items()):
        diffs = [m['relative_difference'] for m in entry['measured']]
        names = list(dict.fromkeys(entry['names']))
        worst = max(diffs) if diffs else None
        status = ('not measured' if worst is None
                  else 'equal' if worst <= 1e-4 else 'differs')
        out.append(dict(
            config=config, status=status,
            max_relative_difference=None if worst is None else float(f'{worst:.3g}'),
            outputs_compared=len(diffs), references=' '.join(names),
            repositories=' '.join(dict.fromkeys(str(refs[n].get('repository')) for n in names)),
            commits=' '.join(dict.fromkeys(str(refs[n].get('commit')) for n in names))))
    for config, why in sorted(NO_PUBLIC_CODE.items()):
        out.append(dict(config=config, status='no public code', references=why))
    return sorted(out, key=lambda r: r['config'])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', default=OUT)
    args = parser.parse_args(argv)
    record = measure()
    result = rows(record)
    provenance = dict(commit=git_commit(), date=time.strftime('%Y-%m-%dT%H:%M:%S'),
                      command=recorded_command('tools/analysis/fidelity.py',
                                               ['--out', args.out] if args.out != OUT else []))
    for row in result:
        row.update(provenance)
    write_csv(result, osp.join(ROOT, args.out), base_columns=COLUMNS)
    for row in result:
        diff = row.get('max_relative_difference')
        print(f"{row['config']:55s} {row['status']:15s} "
              f"{'' if diff is None else f'{diff:.2g}'}")
    print(f'{len(result)} configs -> {args.out}')
    if record['exitstatus']:
        print('warning: some reference tests failed (see their output above)', file=sys.stderr)


if __name__ == '__main__':
    main()
