import json
import os
import time

import nbformat
from nbclient import NotebookClient

from ..conftest import ROOT


def test_results_notebook_executes_and_draws(tmp_path):
    work = tmp_path / 'run'
    (work / '20260101_000000' / 'vis_data').mkdir(parents=True)
    with open(work / '20260101_000000' / 'vis_data' / 'scalars.json', 'w') as f:
        for step in range(1, 6):
            f.write(json.dumps(dict(loss=3.0 / step, lr=0.01, step=step)) + '\n')
        f.write(json.dumps(dict(mF1=50.0, step=5)) + '\n')
    csv = tmp_path / 'r.csv'
    csv.write_text('architecture,mF1,mIoU,aAcc,latency_ms,params_inference,flops,F1.skin,F1.hair,work_dir\n'
                   f'a,70,60,90,10,1000,2000000000,90,80,{work}\n'
                   'b,60,50,85,5,500,1000000000,85,70,\n')
    nb = nbformat.read(os.path.join(ROOT, 'notebooks', 'results.ipynb'), as_version=4)
    assert all(not c.get('outputs') for c in nb.cells if c.cell_type == 'code')  # committed clean
    os.environ['FACEPARSE_RESULTS'] = str(csv)
    start = time.perf_counter()
    try:
        NotebookClient(nb, timeout=120, kernel_name='python3',
                       resources={'metadata': {'path': os.path.join(ROOT, 'notebooks')}}).execute()
    finally:
        del os.environ['FACEPARSE_RESULTS']
    assert time.perf_counter() - start < 60
    outputs = [o for c in nb.cells if c.cell_type == 'code' for o in c.outputs]
    assert not [o for o in outputs if o.output_type == 'error']
    images = [o for o in outputs if 'image/png' in o.get('data', {})]
    assert len(images) == 3  # scatter, heatmap, training curves
    text = ''.join(o.get('text', '') for o in outputs)
    assert '2 runs from' in text
