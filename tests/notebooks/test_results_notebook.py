"""notebooks/results.ipynb renders from small fake results files (env vars point at them)."""
import json
import os
import random
import time

import nbformat
from nbclient import NotebookClient

from faceparse_mm.datasets.class_table import CLASSES

from ..conftest import ROOT

NOTEBOOK = os.path.join(ROOT, 'notebooks', 'results.ipynb')
# name: (family, mF1, latency_ms in the accuracy CSV, latency_best_ms in the benchmark CSV).
# Benchmark front: beta (10 ms, 70) -> alpha (30 ms, 80); gamma (10 ms, 65) is dominated by beta
# (same latency, lower mF1: dominated although not strictly worse on both axes).
# The accuracy CSV's own latencies give another front (gamma, alpha), so using the wrong source
# shows.
ARCHS = dict(alpha=('fam-a', 80.0, 5.0, 30.0), beta=('fam-a', 70.0, 50.0, 10.0),
             gamma=('fam-b', 65.0, 1.0, 10.0))


def write_csv(path, columns, rows):
    lines = [','.join(columns)] + [','.join('' if r.get(c) is None else str(r[c]) for c in columns)
                                   for r in rows]
    path.write_text('\n'.join(lines) + '\n')


def fake_results(tmp_path, per_class=True):
    """An accuracy CSV (rows not sorted by mF1, F1 columns in scrambled order)."""
    rows = []
    by_reversed_name = sorted(ARCHS.items(), key=lambda kv: kv[0][::-1])
    for i, (name, (family, mf1, lat, _)) in enumerate(by_reversed_name):
        row = dict(config=f'configs/demo/{name}_demo.py', architecture=name, family=family,
                   iterations=100, aAcc=90.0, mAcc=60.0, mIoU=mf1 - 10, mF1=mf1,
                   params_inference=(i + 1) * 2_000_000, flops=(i + 1) * 10**9, latency_ms=lat,
                   device='cpu', commit='abc1234', work_dir=f'work_dirs/{name}')
        for j, c in enumerate(CLASSES):
            row[f'F1.{c}'] = None if (name, c) == ('beta', 'hat') else round(mf1 - j / 3, 2)
        rows.append(row)
    f1 = [f'F1.{c}' for c in CLASSES]
    random.Random(0).shuffle(f1)
    assert [c[3:] for c in f1] not in (list(CLASSES), sorted(CLASSES))
    columns = ['mF1', 'work_dir', 'architecture', 'config', 'family', 'iterations', 'aAcc', 'mAcc',
               'mIoU', 'params_inference', 'flops', 'latency_ms', 'device', 'commit']
    path = tmp_path / 'acc.csv'
    write_csv(path, columns + (f1 if per_class else []), rows)
    return path


def fake_benchmark(tmp_path):
    """One benchmark run: the three architectures and a reference the accuracy CSV lacks."""
    rows = [dict(config=f'configs/{name}_celebamask.py', architecture=name, family=family,
                 params_inference=1_000_000, gmacs=1.5, latency_eager_ms=2 * best,
                 latency_best_ms=best, best_mode='eager', shape='512x512', device='cuda',
                 device_name='Fake GPU 9000')
            for name, (family, _, _, best) in ARCHS.items()]
    rows.append(dict(rows[0], config='configs/ref_celebamask.py', architecture='ref',
                     latency_best_ms=1.0))
    path = tmp_path / 'bench.csv'
    write_csv(path, list(rows[0]), rows[::-1])
    return path


def fake_curves(tmp_path):
    """Two runs; only alpha_demo has validation records (the last one is the final mF1)."""
    curves = tmp_path / 'curves'
    curves.mkdir()
    alpha = [dict(step=s, loss=3.0 / s, lr=0.01 * (1 - s / 30)) for s in range(1, 21)]
    alpha[10:10] = [dict(step=10, mF1=40.0, mIoU=30.0)]
    alpha.append(dict(step=20, mF1=55.5, mIoU=45.0))
    beta = [dict(step=s, loss=2.0 / s, lr=0.02) for s in range(1, 11)]
    (curves / 'alpha_demo.json').write_text(json.dumps(alpha))
    (curves / 'beta_demo.json').write_text(json.dumps(beta))
    return curves


def execute(monkeypatch, results, benchmark, curves):
    """Run the notebook on the given files; returns (outputs, printed text, seconds)."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    monkeypatch.setenv('FACEPARSE_RESULTS', str(results))
    monkeypatch.setenv('FACEPARSE_BENCHMARK', str(benchmark))
    monkeypatch.setenv('FACEPARSE_CURVES', str(curves))
    for var in ('FACEPARSE_POSE', 'FACEPARSE_ROBUSTNESS', 'FACEPARSE_CONFUSION'):
        if var not in os.environ:  # the evaluation panels: only the files a test gives
            monkeypatch.setenv(var, str(curves.parent / f'absent_{var.lower()}'))
    start = time.perf_counter()
    NotebookClient(nb, timeout=120, kernel_name='python3',
                   resources={'metadata': {'path': os.path.join(ROOT, 'notebooks')}}).execute()
    seconds = time.perf_counter() - start
    outputs = [o for c in nb.cells if c.cell_type == 'code' for o in c.outputs]
    errors = [o for o in outputs if o.output_type == 'error']
    assert not errors, errors[0].get('traceback')
    return outputs, ''.join(o.get('text', '') for o in outputs), seconds


def printed(text, prefix):
    """The comma-separated list after ``prefix`` on its printed line."""
    line = next(line for line in text.splitlines() if line.startswith(prefix))
    return [s.strip() for s in line[len(prefix):].split(',')]


def n_images(outputs):
    return sum('image/png' in o.get('data', {}) for o in outputs)


def test_results_notebook_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == 'code']
    assert code and all(not c.outputs and c.execution_count is None for c in code)


def test_results_notebook_renders_fake_results(tmp_path, monkeypatch):
    outputs, text, seconds = execute(monkeypatch, fake_results(tmp_path), fake_benchmark(tmp_path),
                                     fake_curves(tmp_path))
    assert seconds < 60
    assert n_images(outputs) == 3  # Pareto plot, heatmap, training curves
    # latencies from the benchmark (one run), not the accuracy CSV; gamma is dominated by beta
    assert 'cost (latency, GMACs) from bench.csv' in text
    assert printed(text, 'Pareto front (fastest first):') == ['beta', 'alpha']
    assert printed(text, 'heatmap rows:') == ['alpha', 'beta', 'gamma']  # best mF1 on top
    assert printed(text, 'heatmap columns:') == list(CLASSES[1:])  # label order, no background
    html = next(o.data['text/html'] for o in outputs if 'text/html' in o.get('data', {}))
    assert html.index('>alpha</th>') < html.index('>beta</th>') < html.index('>gamma</th>')
    assert '>ref</th>' not in html  # benchmark-only architectures are not on the leaderboard
    assert '2 runs with curves' in text
    assert 'alpha_demo: final mF1 55.50 at iteration 20' in text
    assert 'beta_demo: no validation record' in text


def test_results_notebook_skips_what_is_missing(tmp_path, monkeypatch):
    outputs, text, _ = execute(monkeypatch, fake_results(tmp_path, per_class=False),
                               tmp_path / 'absent.csv', tmp_path / 'no_curves')
    assert n_images(outputs) == 1  # only the Pareto plot
    assert 'missing benchmark' in text and 'missing training curves' in text
    assert 'missing F1 columns: skin' in text
    assert 'missing pose buckets' in text and 'missing robustness' in text
    assert 'missing per-image counts' in text and 'one run per architecture' in text
    # falls back to the accuracy CSV's own latency_ms: now gamma (1 ms) is on the front, beta is not
    assert 'cost (latency, GMACs) from acc.csv' in text
    assert printed(text, 'Pareto front (fastest first):') == ['gamma', 'alpha']
