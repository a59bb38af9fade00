"""Deriving a zoo config for LaPa: the dataset base swapped exactly as mmengine would inherit it,
every head and flip pair following the dataset, overrides kept or refused by name."""
import os

import pytest
import torch
from mmengine.config import Config
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from faceparse_mm import protocol
from faceparse_mm.datasets import LaPaDataset
from faceparse_mm.errors import UserError
from faceparse_mm.utils.build import build_segmentor, iter_heads
from faceparse_mm.utils.derive_config import (
    base_files,
    dataset_base,
    derive_config,
    derived_name,
    write_derived_config,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAPA_PAIRS = [list(p) for p in LaPaDataset.METAINFO['flip_pairs']]


def _pairs(value):
    return [list(p) for p in value]


def _cfg(path):
    return os.path.join(ROOT, path)


@pytest.mark.parametrize('arch, train_step', [('bisenetv1', True), ('ocrnet-hrnet-w18', False)])
def test_two_architectures_get_11_classes_everywhere_and_run(arch, train_step):
    """BiSeNet V1 (two auxiliary heads: a training step reaches all three) and OCRNet (a
    cascade of two decode heads, both in the forward; its training step takes seconds)."""
    full = derive_config(_cfg(f'configs/{arch}_celebamask.py'), 'lapa')
    demo = derive_config(_cfg(f'configs/demo/{arch}_demo.py'), 'lapa')
    for cfg in (full, demo):
        heads = list(iter_heads(cfg.model))
        assert len(heads) >= 2 and all(h['num_classes'] == 11 for _, h in heads)
        assert _pairs(cfg.tta_model.flip_pairs) == LAPA_PAIRS == _pairs(cfg.flip_pairs)
        flip = [t for t in cfg.train_dataloader.dataset.pipeline if t['type'] == 'FaceRandomFlip']
        assert _pairs(flip[0]['swap_seg_labels']) == LAPA_PAIRS
        for split in ('train', 'val', 'test'):
            assert cfg[f'{split}_dataloader'].dataset.type == 'LaPaDataset'
    assert full.test_dataloader.dataset.data_root == 'data/LaPa'
    assert demo.test_dataloader.dataset.data_root == 'data/synthetic-lapa'
    assert full.train_cfg.max_iters == 80000 and full.train_dataloader.batch_size == 16

    model = build_segmentor(demo)
    classifiers = [m for name, m in model.named_modules() if name.endswith('conv_seg')]
    assert len(classifiers) == len(list(iter_heads(demo.model)))
    assert all(m.out_channels == 11 for m in classifiers)
    assert all(m.num_classes == 11 for m in model.modules() if hasattr(m, 'num_classes'))
    inputs = torch.rand(2, 3, 64, 64) * 255
    model.eval()
    with torch.no_grad():
        assert model(inputs[:1], mode='tensor').shape[1] == 11
    if not train_step:
        return
    samples = []
    for _ in range(2):
        sample = SegDataSample()
        sample.set_metainfo(dict(img_shape=(64, 64), ori_shape=(64, 64), pad_shape=(64, 64)))
        sample.gt_sem_seg = PixelData(data=torch.randint(0, 11, (1, 64, 64)))
        samples.append(sample)
    model.train()
    data = model.data_preprocessor(dict(inputs=list(inputs), data_samples=samples), True)
    losses = model.loss(data['inputs'], data['data_samples'])
    values = [v for k, v in losses.items() if 'loss' in k]
    assert len(values) == len(classifiers) and all(torch.isfinite(v) for v in values)


def test_derived_is_mmengines_own_inheritance_with_the_dataset_base_swapped(tmp_path):
    """The three-way merge gives exactly what a hand-written config with lapa.py in place of
    celebamask_hq.py gives, plus the heads' class count."""
    source = _cfg('configs/bisenetv1_celebamask.py')
    bases = [b.replace('celebamask_hq.py', 'lapa.py') for b in base_files(source)]
    assert sum(b.endswith('datasets/lapa.py') for b in bases) == 1
    by_hand = tmp_path / 'bisenetv1_lapa_by_hand.py'
    by_hand.write_text(f'_base_ = {bases!r}\n')
    expected = Config.fromfile(str(by_hand))
    for _, head in iter_heads(expected.model):
        head['num_classes'] = 11
    derived = derive_config(source, 'lapa')
    assert derived.derived_from == 'configs/bisenetv1_celebamask.py'
    got = derived._cfg_dict.to_dict()
    got.pop('derived_from')
    assert got == expected._cfg_dict.to_dict()


def test_derived_config_departs_from_the_protocol_only_where_the_dataset_does():
    derived = derive_config(_cfg('configs/bisenetv1_celebamask.py'), 'lapa')
    heads = {f'{place}.num_classes' for place, _ in iter_heads(derived.model)}
    data = {f'{s}_dataloader.dataset.{k}' for s in ('train', 'val', 'test')
            for k in ('type', 'data_root', 'ann_file', 'pipeline')}
    assert set(protocol.departures(derived)) == heads | data | {'tta_model.flip_pairs',
                                                                'tta_pipeline'}


def _config(tmp_path, text, name='custom_demo.py'):
    path = tmp_path / name
    path.write_text(f"_base_ = ['{_cfg('configs/demo/bisenetv1_demo.py')}']\n{text}")
    return str(path)


def test_a_config_change_is_kept_where_both_datasets_agree(tmp_path):
    path = _config(tmp_path, 'train_dataloader = dict(batch_size=2)\n'
                             "val_evaluator = dict(per_class=False)\n")
    derived = derive_config(path, 'lapa')
    assert derived.train_dataloader.batch_size == 2  # both demo bases use 8
    assert derived.train_dataloader.dataset.type == 'LaPaDataset'
    assert derived.val_evaluator == dict(type='FaceParsingMetric', per_class=False)
    assert [h['num_classes'] for _, h in iter_heads(derived.model)] == [11, 11, 11]


@pytest.mark.parametrize('text, key', [
    ("train_pipeline = [dict(type='LoadFaceAnnotations'), dict(type='PackSegInputs')]\n",
     'train_pipeline'),
    ("test_dataloader = dict(dataset=dict(data_root='data/mine'))\n",
     'test_dataloader.dataset.data_root'),
    ('model = dict(decode_head=dict(loss_decode=dict(class_weight=[1.0] * 19)))\n',
     'model.decode_head.loss_decode.class_weight'),
    ('model = dict(decode_head=dict(flip_pairs=[(1, 2)]))\n', 'model.decode_head.flip_pairs'),
    ('model = dict(decode_head=dict(num_classes=5))\n', 'model.decode_head.num_classes=5'),
])
def test_a_dataset_dependent_override_is_refused_by_name(tmp_path, text, key):
    with pytest.raises(UserError, match=key.replace('.', r'\.')):
        derive_config(_config(tmp_path, text), 'lapa')


def test_three_way_merge_of_any_two_dataset_bases(tmp_path):
    """Keys only the old base sets go, keys only the new one sets come, the config's own
    change survives where the bases agree and the new base wins elsewhere."""
    bases = tmp_path / '_base_' / 'datasets'
    bases.mkdir(parents=True)
    (bases / 'old.py').write_text(
        "test_dataloader = dict(dataset=dict(type='CelebAMaskHQDataset', ann_file='t.txt'))\n"
        'only_old = 1\nshared = dict(a=1, b=2, c=0)\n')
    (bases / 'new.py').write_text(
        "test_dataloader = dict(dataset=dict(type='LaPaDataset', split='test'))\n"
        "only_new = 2\nshared = dict(a=1, b=3)\ndataset_label = 'new data'\n")
    config = tmp_path / 'arch_celebamask.py'
    config.write_text("_base_ = ['./_base_/datasets/old.py']\nshared = dict(a=5)\n"
                      'num_classes = 19\n'  # a top-level helper, as mmseg configs keep one
                      "model = dict(type='EncoderDecoder', decode_head=dict(type='FCNHead', "
                      "num_classes=num_classes))\n")
    derived = derive_config(str(config), 'new')._cfg_dict.to_dict()
    assert derived == dict(test_dataloader=dict(dataset=dict(type='LaPaDataset', split='test')),
                           shared=dict(a=5, b=3), only_new=2, dataset_label='new data',
                           num_classes=11,
                           model=dict(type='EncoderDecoder',
                                      decode_head=dict(type='FCNHead', num_classes=11)),
                           derived_from=str(config))
    assert derived_name(str(config), 'new') == 'arch_new.py'


def test_written_file_loads_back_and_names_follow_the_source(tmp_path):
    path = write_derived_config(_cfg('configs/demo/bisenetv1_demo.py'), 'lapa', str(tmp_path))
    assert os.path.basename(path) == 'bisenetv1_lapa_demo.py'
    text = open(path).read()
    assert text.startswith('# Generated by tools/derive_config.py from '
                           'configs/demo/bisenetv1_demo.py with --dataset lapa')
    loaded = Config.fromfile(path)
    assert loaded._cfg_dict.to_dict() == derive_config(
        _cfg('configs/demo/bisenetv1_demo.py'), 'lapa')._cfg_dict.to_dict()
    assert loaded.dataset_label == 'synthetic-lapa (demo)'
    assert derived_name('configs/pspnet-r50-d8_celebamask.py', 'lapa') == 'pspnet-r50-d8_lapa.py'
    assert derived_name('configs/x.py', 'lapa') == 'x_lapa.py'
    assert dataset_base(_cfg('configs/demo/bisenetv1_demo.py')).endswith(
        os.path.join('datasets', 'celebamask_hq_demo.py'))


def test_unknown_dataset_or_no_dataset_base_is_one_line(tmp_path, capsys):
    from tools.derive_config import main
    with pytest.raises(SystemExit) as exit_info:
        main([_cfg('configs/bisenetv1_celebamask.py'), '--dataset', 'nope',
              '--out-dir', str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith('error: no dataset base') and 'lapa' in err
    assert len(err.strip().splitlines()) == 1
    with pytest.raises(UserError, match='inherits no dataset base'):
        derive_config(_cfg('tests/data/toy_config.py'), 'lapa')


def test_a_failed_write_keeps_the_previous_derived_config(tmp_path, monkeypatch):
    import builtins

    import faceparse_mm.utils.derive_config as module
    source = _cfg('configs/demo/bisenetv1_demo.py')
    path = write_derived_config(source, 'lapa', str(tmp_path))
    before = open(path).read()
    derived = derive_config(source, 'lapa')
    monkeypatch.setattr(module, 'derive_config', lambda *args: derived)
    real_open = builtins.open

    def half_writing_open(name, mode='r', *args, **kwargs):
        f = real_open(name, mode, *args, **kwargs)
        if 'w' in mode:
            write = f.write

            def broken(data):
                write(data[:len(data) // 2])
                raise OSError(f'injected failure writing {name}')
            f.write = broken
        return f
    monkeypatch.setattr(builtins, 'open', half_writing_open)
    with pytest.raises(OSError, match='injected'):
        write_derived_config(source, 'lapa', str(tmp_path))
    monkeypatch.undo()
    assert open(path).read() == before and os.listdir(tmp_path) == [os.path.basename(path)]


def test_an_image_config_is_not_moved_onto_face_clips():
    """face_clips.py says ``derivable = False``: derive_config refuses it and run_zoo's
    ``--dataset`` does not offer it, while LaPa stays offered."""
    from tools.run_zoo import dataset_names
    with pytest.raises(UserError, match='derivable = False'):
        derive_config(_cfg('configs/bisenetv1_celebamask.py'), 'face_clips')
    assert 'face_clips' not in dataset_names() and 'lapa' in dataset_names()
