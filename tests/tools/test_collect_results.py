import csv
import json

from tools.analysis.collect_results import collect, write_csv


def _tree(root):
    a = root / 'demo' / 'bisenetv1_demo'
    a.mkdir(parents=True)
    (a / 'test_metrics.json').write_text(json.dumps(dict(
        config='configs/demo/bisenetv1_demo.py', checkpoint=str(a / 'iter_800.pth'), tta=False,
        commit='abc1234', date='2026-11-22T10:00:00',
        metrics={'aAcc': 90.5, 'mAcc': 70.1, 'mIoU': 60.2, 'mF1': 71.3, 'F1.skin': 95.0,
                 'IoU.skin': 90.4, 'F1.hat': None})))
    (a / 'benchmark.json').write_text(json.dumps(dict(
        environment=dict(device_name='x86_64', commit='abc1234', date='2026-11-22T10:05:00'),
        results=[dict(config='configs/demo/bisenetv1_demo.py', params=13490745,
                      params_inference=13340563, flops=123456789, latency_ms=12.5,
                      best_mode='fold_bn')])))
    b = root / 'demo' / 'other_demo'
    b.mkdir(parents=True)
    (b / 'test_metrics.json').write_text(json.dumps(dict(
        config='configs/demo/other_demo.py', checkpoint='iter_40.pth', metrics={'mF1': 50.0})))
    c = root / 'demo' / 'third_demo'  # benchmarked, never tested; mmengine's config copy
    c.mkdir(parents=True)
    (c / 'benchmark.json').write_text(json.dumps(dict(
        environment=dict(device_name='cpu'),
        results=[dict(config='configs/demo/third_demo.py', params=10, latency_ms=1.5)])))
    (c / 'third_demo.py').write_text("train_cfg = dict(type='IterBasedTrainLoop', max_iters=7)\n")
    (root / 'demo' / 'not_a_run').mkdir()
    return a, b, c


def test_collect_rows_and_csv(tmp_path):
    a, b, c = _tree(tmp_path)
    rows = collect([str(tmp_path)])
    assert [r['work_dir'] for r in rows] == [str(a), str(b), str(c)]
    ra, rb, rc = rows
    assert ra['architecture'] == 'bisenetv1' and ra['iterations'] == 800 and ra['mF1'] == 71.3
    assert ra['params_inference'] == 13340563 and ra['latency_ms'] == 12.5
    assert ra['dataset'] == 'synthetic-celebamask (demo)'
    assert rb['iterations'] == 40 and rb['params'] is None  # no benchmark: empty cells
    assert rc['architecture'] == 'third' and rc['iterations'] == 7  # from the config copy
    assert rc['params'] == 10 and rc.get('mF1') is None  # no test: empty metric cells
    out = tmp_path / 'results' / 'x.csv'
    write_csv(rows, str(out))
    with open(out) as f:
        table = list(csv.DictReader(f))
    assert table[0]['F1.skin'] == '95.0' and table[1]['F1.skin'] == ''
    assert table[1]['latency_ms'] == '' and table[1]['mF1'] == '50.0'
    assert table[2]['mF1'] == '' and table[2]['iterations'] == '7' and table[2]['F1.skin'] == ''
    assert list(table[0])[:10] == ['config', 'test_time', 'architecture', 'family', 'dataset',
                                   'iterations', 'aAcc', 'mAcc', 'mIoU', 'mF1']
    assert [r['test_time'] for r in table] == ['', '', '']  # the protocol's plain test
    expected = {'params', 'flops', 'latency_ms', 'commit', 'date', 'F1.skin', 'IoU.skin'}
    assert expected <= set(table[0])


def test_merge_replaces_only_the_rows_of_the_collected_configs(tmp_path):
    out = tmp_path / 'zoo.csv'
    write_csv([dict(config='configs/demo/a_demo.py', mF1=50.0, commit='old'),
               dict(config='configs/demo/b_demo.py', mF1=40.0, commit='old')], str(out))
    write_csv([dict(config='configs/demo/b_demo.py', mF1=45.0, commit='new', **{'F1.skin': 9})],
              str(out), merge=True)
    rows = {r['config']: r for r in csv.DictReader(open(out))}
    assert rows['configs/demo/a_demo.py']['mF1'] == '50.0'
    assert rows['configs/demo/a_demo.py']['commit'] == 'old'
    assert rows['configs/demo/b_demo.py']['mF1'] == '45.0'
    assert rows['configs/demo/b_demo.py']['commit'] == 'new'
    assert rows['configs/demo/a_demo.py']['F1.skin'] == ''  # a column added by the new row
    write_csv([dict(config='configs/demo/c_demo.py', mF1=1.0)], str(out))  # no merge: replaced
    assert [r['config'] for r in csv.DictReader(open(out))] == ['configs/demo/c_demo.py']


def test_tta_and_crf_runs_are_labelled_rows_beside_the_protocol_row(tmp_path):
    a, _, _ = _tree(tmp_path)
    plain = collect([str(a)])
    for flag, label in (('tta', 'flip TTA'), ('crf', 'dense CRF')):
        record = json.loads((a / 'test_metrics.json').read_text())
        record.update({flag: True, 'metrics': {'mF1': 80.0}})
        (a / 'test_metrics.json').write_text(json.dumps(record))
        (row,) = collect([str(a)])
        assert row['test_time'] == label
        out = tmp_path / 'zoo.csv'
        write_csv(plain, str(out))
        write_csv([row], str(out), merge=True)  # beside the plain row, not instead of it
        table = {r['test_time']: r['mF1'] for r in csv.DictReader(open(out))}
        assert table == {'': '71.3', label: '80.0'}
        record[flag] = False
        (a / 'test_metrics.json').write_text(json.dumps(record))
