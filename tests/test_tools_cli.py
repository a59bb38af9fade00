"""tools/train.py and tools/test.py as a user runs them (subprocesses)."""
import os

import torch

CFG = 'tests/data/toy_config.py'


def test_missing_config_one_line(tool):
    proc = tool('tools/train.py', 'configs/does_not_exist.py')
    assert proc.returncode == 2
    assert 'config file not found: configs/does_not_exist.py' in proc.stderr
    assert 'Traceback' not in proc.stderr


def test_wrong_cfg_options_key_one_line(tool):
    proc = tool('tools/train.py', CFG, '--cfg-options', 'train_cfg.max_iter=6')
    assert proc.returncode == 2
    assert "--cfg-options key 'train_cfg.max_iter' does not exist" in proc.stderr
    assert 'max_iters' in proc.stderr  # says what the parent does have
    assert 'Traceback' not in proc.stderr


def test_unknown_type_one_line(tool):
    proc = tool('tools/train.py', CFG, '--cfg-options', 'model.backbone.type=ResNetTypo')
    assert proc.returncode == 2
    assert "model.backbone.type='ResNetTypo'" in proc.stderr
    assert 'Traceback' not in proc.stderr


def test_train_then_resume_continues_from_checkpoint(tool, tmp_path):
    work = str(tmp_path / 'run')
    tool('tools/train.py', CFG, '--work-dir', work, check=True)
    assert sorted(f for f in os.listdir(work) if f.endswith('.pth')) == ['iter_2.pth', 'iter_4.pth']
    proc = tool('tools/train.py', CFG, '--work-dir', work, '--resume',
                '--cfg-options', 'train_cfg.max_iters=6', check=True)
    log = proc.stdout + proc.stderr
    assert 'resumed epoch: 0, iter: 4' in log
    assert 'Iter(train) [5/6]' in log and 'Iter(train) [1/6]' not in log
    ckpt = torch.load(os.path.join(work, 'iter_6.pth'), weights_only=True)
    assert ckpt['meta']['iter'] == 6
    # the optimizer state came back: momentum buffers exist for every parameter
    params = [p for g in ckpt['optimizer']['param_groups'] for p in g['params']]
    assert len(ckpt['optimizer']['state']) == len(params) > 0
    assert ckpt['param_schedulers'][0]['_global_step'] == 6


def test_test_tool_refuses_code_running_checkpoint(tool, tmp_path):
    marker = tmp_path / 'pwned'
    evil = tmp_path / 'evil.pth'
    code = ('import os, torch\n'
            'class E:\n'
            f'    def __reduce__(self): return (os.system, ("touch {marker}",))\n'
            f'torch.save({{"state_dict": {{}}, "meta": E()}}, "{evil}")\n')
    subprocess_result = tool('-c', code, check=True)
    assert subprocess_result.returncode == 0 and evil.exists()
    proc = tool('tools/test.py', CFG, str(evil), '--work-dir', str(tmp_path / 'w'))
    assert proc.returncode == 2
    assert f'refused to load checkpoint {evil}' in proc.stderr
    assert 'Traceback' not in proc.stderr
    assert not marker.exists()


def test_test_tool_writes_metrics_json(tool, tmp_path):
    work = str(tmp_path / 'run')
    tool('tools/train.py', CFG, '--work-dir', work, check=True)
    tool('tools/test.py', CFG, os.path.join(work, 'iter_4.pth'), '--work-dir', work, check=True)
    import json
    with open(os.path.join(work, 'test_metrics.json')) as f:
        record = json.load(f)
    assert record['checkpoint'].endswith('iter_4.pth') and record['tta'] is False
    assert 0 <= record['metrics']['mIoU'] <= 100


def test_resume_refuses_code_running_checkpoint_naming_it(tool, tmp_path):
    work = tmp_path / 'run'
    work.mkdir()
    marker = tmp_path / 'pwned'
    evil = work / 'iter_4.pth'
    code = ('import os, torch\n'
            'class E:\n'
            f'    def __reduce__(self): return (os.system, ("touch {marker}",))\n'
            f'torch.save({{"state_dict": {{}}, "meta": E()}}, "{evil}")\n')
    tool('-c', code, check=True)
    (work / 'last_checkpoint').write_text(str(evil))
    proc = tool('tools/train.py', CFG, '--work-dir', str(work), '--resume')
    assert proc.returncode == 2
    assert f'refused to load checkpoint {evil}' in proc.stderr
    assert not marker.exists()


def test_nan_loss_stops_naming_iteration_and_keeps_last_good_checkpoint(tool, tmp_path):
    work = tmp_path / 'run'
    proc = tool('tools/train.py', CFG, '--work-dir', str(work),
                '--cfg-options', 'model.decode_head.loss_decode.type=ToyNaNAtLoss')
    assert proc.returncode == 2
    assert 'non-finite loss at iteration 3: loss=nan' in proc.stderr
    assert f'last good checkpoint: {work / "iter_2.pth"}' in proc.stderr
    assert 'Traceback' not in proc.stderr
    assert sorted(p.name for p in work.glob('*.pth')) == ['iter_2.pth']
    ckpt = torch.load(work / 'iter_2.pth', weights_only=True)
    weights = [v for v in ckpt['state_dict'].values() if v.is_floating_point()]
    assert all(torch.isfinite(v).all() for v in weights)


def _losses(work):
    import glob
    import json
    (path,) = glob.glob(os.path.join(work, '*', 'vis_data', 'scalars.json'))
    with open(path) as f:
        return [json.loads(line)['loss'] for line in f if '"loss"' in line]


def test_seeded_deterministic_runs_repeat_the_loss_curve(tool, tmp_path):
    runs = {}
    for name, seed in (('a', 1), ('b', 1), ('c', 2)):
        work = str(tmp_path / name)
        tool('tools/train.py', CFG, '--work-dir', work, '--cfg-options',
             f'randomness.seed={seed}', 'randomness.deterministic=True', check=True)
        runs[name] = _losses(work)
    assert len(runs['a']) == 4
    assert runs['a'] == runs['b']
    assert runs['a'] != runs['c']


def test_num_classes_mismatch_caught_before_training(tool):
    proc = tool('tools/train.py', CFG, '--cfg-options', 'model.decode_head.num_classes=4')
    assert proc.returncode == 2
    assert ('model.decode_head.num_classes=4 but train_dataloader.dataset (ToySegDataset) has 3 '
            'classes') in proc.stderr
    assert 'Traceback' not in proc.stderr and 'Config:' not in proc.stdout


def test_demo_config_is_deterministic_with_seed(tool, tmp_path):
    """Two short seeded, deterministic runs of the demo config (BiSeNetV1 on generated faces)
    give the same loss curve."""
    data = tmp_path / 'faces'
    opts = ['randomness.seed=3', 'randomness.deterministic=True', 'train_cfg.max_iters=3',
            'train_cfg.val_interval=1000', 'default_hooks.logger.interval=1',
            'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
            'train_dataloader.persistent_workers=False', 'val_dataloader.num_workers=0',
            'test_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
            'test_dataloader.persistent_workers=False']
    for split in ('train', 'val', 'test'):
        opts += [f'{split}_dataloader.dataset.data_root={data}',
                 f'{split}_dataloader.dataset.synthetic.num=30']
    losses = []
    for name in ('a', 'b'):
        work = str(tmp_path / name)
        tool('tools/train.py', 'configs/demo/bisenetv1_demo.py', '--work-dir', work,
             '--cfg-options', *opts, check=True)
        losses.append(_losses(work))
    assert len(losses[0]) == 3 and losses[0] == losses[1]


def test_amp_without_gpu_is_one_line(tool):
    if torch.cuda.is_available():
        import pytest
        pytest.skip('a GPU is present: --amp works')
    proc = tool('tools/train.py', CFG, '--amp')
    assert proc.returncode == 2 and '--amp needs a GPU' in proc.stderr
    assert 'Traceback' not in proc.stderr
