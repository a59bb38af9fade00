"""tools/analysis/video_compare.py: the per-frame models derived onto TDNet's clips, the clip
latency (a fresh stream per clip), the table."""
import os
import sys

import pytest

from faceparse_mm.utils.build import build_segmentor
from tests.models.test_tdnet import tiny

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from tools.analysis import video_compare as vc  # noqa: E402


def test_the_per_frame_models_run_on_tdnets_clips_as_single_frames():
    video = vc.Config.fromfile(os.path.join(ROOT, vc.source_config(vc.TDNET, 'demo')))
    for name in ('pspnet-r18-d8', 'bisenetv1'):
        cfg = vc.derive_per_frame(name, 'demo')
        train = cfg.train_dataloader.dataset
        assert train.type == 'FaceClipDataset' and train.num_frames == 1
        assert train.data_root == video.train_dataloader.dataset.data_root
        assert train.synthetic == video.train_dataloader.dataset.synthetic
        for split in ('val', 'test'):
            ds = cfg[f'{split}_dataloader'].dataset
            assert ds.to_dict() == video[f'{split}_dataloader'].dataset.to_dict()
            assert ds.test_mode is True
        assert cfg.test_evaluator.type == 'FaceClipMetric'
    psp = vc.derive_per_frame('pspnet-r18-d8', 'full')
    # exactly one TDNet sub-network's backbone, run on every frame
    assert psp.model.backbone.to_dict() == vc.Config.fromfile(os.path.join(
        ROOT, vc.source_config(vc.TDNET, 'full'))).model.backbone.to_dict()
    assert psp.model.decode_head.in_channels == 512 and psp.model.decode_head.channels == 128
    model = build_segmentor(psp)
    tdnet = build_segmentor(os.path.join(ROOT, vc.source_config(vc.TDNET, 'full')))
    assert {k: v.shape for k, v in model.backbone.state_dict().items()} == {
        k: v.shape for k, v in tdnet.backbones[0].state_dict().items()}
    assert vc.derive_per_frame('bisenetv1', 'demo').model.type == vc.Config.fromfile(
        os.path.join(ROOT, 'configs/demo/bisenetv1_demo.py')).model.type


def _labelled_frames(cfg):
    """Training samples per step x iterations: a TDNet sample is labelled on its last frame
    only, a per-frame sample is one labelled image."""
    return cfg.train_dataloader.batch_size * cfg.train_cfg.max_iters


@pytest.mark.parametrize('profile', ['demo', 'full'])
def test_every_row_trains_on_the_same_labelled_frames_in_the_same_steps(profile):
    """What video_compare runs: TDNet's config and the per-frame configs derived from it see
    the same labelled frames per step, for as many steps, on the same learning-rate schedule;
    the poly decay ends where training does, with the one validation (demo) there."""
    video = vc.Config.fromfile(os.path.join(ROOT, vc.source_config(vc.TDNET, profile)))
    assert video.train_dataloader.dataset.num_frames == 4 == video.model.num_paths
    assert video.param_scheduler[-1]['end'] == video.train_cfg.max_iters
    assert video.train_cfg.max_iters % video.train_cfg.val_interval == 0
    for name in ('pspnet-r18-d8', 'bisenetv1'):
        cfg = vc.derive_per_frame(name, profile)
        assert cfg.train_dataloader.dataset.num_frames == 1
        assert _labelled_frames(cfg) == _labelled_frames(video)
        assert cfg.train_dataloader.batch_size == video.train_dataloader.batch_size
        assert cfg.train_cfg.to_dict() == video.train_cfg.to_dict()
        assert [s.to_dict() for s in cfg.param_scheduler] == [
            s.to_dict() for s in video.param_scheduler]
        own = vc.Config.fromfile(os.path.join(ROOT, vc.source_config(name, profile)))
        assert cfg.optim_wrapper.to_dict() == own.optim_wrapper.to_dict()


def test_the_clip_latency_times_every_frame_of_fresh_clips():
    model = tiny()
    calls = []
    for i, b in enumerate(model.backbones):
        b.register_forward_hook(lambda mod, args, out, i=i: calls.append(i))
    out = vc.clip_latency(model, shape=(32, 32), frames=5, clips=2)
    # one warm-up clip and two timed ones, each a new stream from sub-network 0
    assert calls == [0, 1, 2, 3, 0] * 3
    assert 0 < out['latency_min_ms'] <= out['latency_ms'] <= out['latency_max_ms']


def test_the_table_lists_each_model_with_its_numbers():
    rows = [dict(model='tdnet-td4-psp18', params_inference=52631884, latency_ms=12.345,
                 latency_vs_reference=1.5, mF1=80.123, flicker=1.23456, mFlicker=2.5),
            dict(model='bisenetv1', params_inference='13000000', latency_ms='10',
                 latency_vs_reference='1.0', mF1=None, flicker='', mFlicker=None)]
    text = vc.markdown(rows)
    assert '| tdnet-td4-psp18 | 52,631,884 | 12.35 | 1.50 | 80.12 | 1.235 | 2.500 |' in text
    assert '| bisenetv1 | 13,000,000 | 10.00 | 1.00 |  |  |  |' in text

