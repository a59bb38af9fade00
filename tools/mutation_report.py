"""Summarise the last ``make mutation`` run (mutmut 3): counts, score, surviving mutants.

Run from the repository root after ``mutmut run`` (``make mutation`` does both)::

    python tools/mutation_report.py            # counts per file, score, survivors by file:line
    python tools/mutation_report.py --no-tests # also list mutants that no selected test reaches

Reads mutmut's own results under ``mutants/`` (``*.meta``), so the counts are the ones
``mutmut results`` / ``mutmut browse`` show. ``mutmut show NAME`` prints the full diff of one
mutant; ``mutmut run NAME`` retests it.
"""
from __future__ import annotations

import argparse
import ast
import re
import sys
from collections import Counter
from pathlib import Path

STATUSES = ('killed', 'survived', 'timeout', 'suspicious', 'segfault', 'no tests', 'skipped',
            'caught by type check', 'check was interrupted by user', 'not checked')


def _function_spans(source: str) -> dict[tuple[str | None, str], int]:
    """(class or None, name) -> first line (decorators included) of top-level defs/methods."""
    spans: dict[tuple[str | None, str], int] = {}
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            spans[(None, node.name)] = min([node.lineno] + [d.lineno for d in node.decorator_list])
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    spans[(node.name, item.name)] = min(
                        [item.lineno] + [d.lineno for d in item.decorator_list])
    return spans


def _short_change(old: str, new: str, context: int = 15) -> str:
    """'old -> new' cut down to the part that differs, with a little context either side."""
    prefix = 0
    while prefix < min(len(old), len(new)) and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while (suffix < min(len(old), len(new)) - prefix
           and old[len(old) - 1 - suffix] == new[len(new) - 1 - suffix]):
        suffix += 1
    start = max(0, prefix - context)

    def cut(text: str) -> str:
        end = min(len(text), len(text) - suffix + context)
        return ('...' if start else '') + text[start:end] + ('...' if end < len(text) else '')

    return f'{cut(old)}  ->  {cut(new)}'


def _locate(diff: str, lines: list[str], start: int) -> tuple[int | None, str]:
    """File line of the first changed line of a mutant diff, and a one-line 'old -> new'."""
    removed, added, pos, first = [], [], 0, None
    for line in diff.splitlines():
        m = re.match(r'@@ -(\d+)', line)
        if m:
            pos = int(m.group(1)) - 1
            continue
        if line.startswith(('---', '+++')):
            continue
        if line.startswith('-'):
            if first is None:
                first = pos
            removed.append(line[1:].strip())
            pos += 1
        elif line.startswith('+'):
            added.append(line[1:].strip())
        else:
            pos += 1
    change = _short_change(' '.join(removed), ' '.join(added))
    if first is None or not removed:
        return None, change
    guess = start + first  # the diff is of the function's own text, so this is approximate
    hits = [i + 1 for i, text in enumerate(lines) if text.strip() == removed[0]]
    line_no = min(hits, key=lambda n: abs(n - guess)) if hits else guess
    return line_no, change


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--no-tests', action='store_true',
                        help='also list the mutants no selected test reaches')
    parser.add_argument('--width', type=int, default=110, help='truncate each mutation to this')
    args = parser.parse_args(argv)

    if not Path('mutants').is_dir():
        print('no mutants/ here: run `make mutation` from the repository root first')
        return 1

    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.mutation.diff_apply import get_diff_for_mutant
    from mutmut.stats import status_by_exit_code
    from mutmut.utils.file_utils import walk_mutatable_files
    from mutmut.utils.format_utils import orig_function_and_class_names_from_key

    total = Counter()
    per_file: dict[str, Counter] = {}
    listed: list[tuple[str, str, str]] = []
    want = {'survived', 'suspicious', 'segfault'} | ({'no tests'} if args.no_tests else set())
    for path in sorted(walk_mutatable_files()):
        data = SourceFileMutationData(path=path)
        data.load()
        if not data.exit_code_by_key:
            continue
        counts = Counter(status_by_exit_code[code] for code in data.exit_code_by_key.values())
        per_file[str(path)] = counts
        total.update(counts)
        for name, code in sorted(data.exit_code_by_key.items()):
            status = status_by_exit_code[code]
            if status in want:
                listed.append((str(path), name, status))

    if not per_file:
        print('no mutation results under mutants/: run `make mutation` first')
        return 1

    shown = [s for s in STATUSES if total[s]]
    width = max(len(p) for p in per_file)
    print(f"{'file':<{width}}  " + '  '.join(f'{s:>9}' for s in shown + ['total']))
    for path, counts in per_file.items():
        print(f'{path:<{width}}  ' + '  '.join(f'{counts[s]:>9}' for s in shown)
              + f'  {sum(counts.values()):>9}')
    n = sum(total.values())
    print(f"{'all':<{width}}  " + '  '.join(f'{total[s]:>9}' for s in shown) + f'  {n:>9}')
    print()
    print(f"killed {total['killed']}, survived {total['survived']}, timeout {total['timeout']}, "
          f"suspicious {total['suspicious']}, no tests {total['no tests']}, "
          f"not checked {total['not checked']}, total {n}")
    print(f"score killed/total = {total['killed'] / n:.1%}; "
          f"(killed+timeout)/total = {(total['killed'] + total['timeout']) / n:.1%}; "
          f"killed/(total-no tests) = "
          f"{total['killed'] / max(1, n - total['no tests']):.1%}")

    if listed:
        print()
        print('surviving mutants (file:line  mutant  change):')
        sources: dict[str, tuple[list[str], dict]] = {}
        rows = []
        for path, name, status in listed:
            if path not in sources:
                text = Path(path).read_text()
                sources[path] = (text.splitlines(), _function_spans(text))
            lines, spans = sources[path]
            func, cls = orig_function_and_class_names_from_key(name)
            start = spans.get((cls, func.rpartition('.')[2]), 1)
            try:
                line_no, change = _locate(get_diff_for_mutant(name, path=path), lines, start)
            except Exception as exc:  # a stale index, a removed function: still list the name
                line_no, change = None, f'(no diff: {exc})'
            if len(change) > args.width:
                change = change[:args.width - 3] + '...'
            tag = '' if status == 'survived' else f'[{status}] '
            rows.append((path, line_no or 0, f'{tag}{name.rpartition(".")[2]}', change))
        for path, line_no, short, change in sorted(rows):
            print(f'  {path}:{line_no or "?"}  {short}  {change}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
