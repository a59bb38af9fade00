"""HRNetV2-W18 with its FCN head and the OCRNet cascade, as the fcn-hrnet-w18 and
ocrnet-hrnet-w18 configs build them (config-only architectures: mmseg's modules)."""
import os

import mmseg
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from faceparse_mm.registry import MODELS
from faceparse_mm.utils.build import build_segmentor, count_params, replace_norm
from tests.models.randomise import randomise_bn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FCN = os.path.join(ROOT, 'configs', 'fcn-hrnet-w18_celebamask.py')
OCR = os.path.join(ROOT, 'configs', 'ocrnet-hrnet-w18_celebamask.py')
MMSEG_CONFIGS = os.path.join(os.path.dirname(mmseg.__file__), '.mim', 'configs')


@pytest.mark.parametrize('ours, theirs', [
    (FCN, 'hrnet/fcn_hr18_4xb2-80k_cityscapes-512x1024.py'),
    (OCR, 'ocrnet/ocrnet_hr18_4xb2-80k_cityscapes-512x1024.py')])
def test_parameter_count_equals_mmsegs_own_cityscapes_config(ours, theirs):
    path = os.path.join(MMSEG_CONFIGS, theirs)
    if not os.path.isfile(path):
        pytest.skip(f'mmseg ships no {theirs} here')
    reference = Config.fromfile(path)
    reference.model.pop('pretrained', None)
    reference.model.data_preprocessor.pop('size', None)
    inference = count_params(build_segmentor(Config.fromfile(ours)))[1]
    assert inference == count_params(build_segmentor(reference))[1]
    assert inference == {FCN: 9_640_849, OCR: 12_080_036}[ours]


def test_fcn_head_reads_every_branch_at_a_quarter():
    """The HRNetV2 head: all four branches upsampled to 1/4 and concatenated (270 channels); a
    change in the 1/32 branch alone changes the logits."""
    model = build_segmentor(Config.fromfile(FCN))
    randomise_bn(model)
    model.eval()
    head = model.decode_head
    assert head.input_transform == 'resize_concat' and head.in_channels == 270
    feats = [torch.randn(1, c, 16 // 2 ** i, 16 // 2 ** i) for i, c in enumerate((18, 36, 72, 144))]
    with torch.no_grad():
        out = head(feats)
        feats[3] = feats[3] + torch.randn_like(feats[3])
        changed = head(feats)
    assert out.shape == (1, 19, 16, 16)
    assert (changed - out).abs().max() > 1e-4


def test_ocr_cascade_feeds_the_soft_regions_to_the_ocr_head():
    """Both heads run at inference; the OCR head (scale=1) reads the first head's regions: other
    regions, other logits for the same features."""
    cfg = Config.fromfile(OCR)
    assert cfg.model.decode_head[1].scale == 1
    assert cfg.model.decode_head[0].loss_decode.loss_weight == 0.4
    model = build_segmentor(cfg)
    randomise_bn(model)
    model.eval()
    feats = [torch.randn(1, c, 8 // 2 ** i, 8 // 2 ** i) for i, c in enumerate((18, 36, 72, 144))]
    with torch.no_grad():
        regions = model.decode_head[0](feats)
        out = model.decode_head[1](feats, regions)
        other = model.decode_head[1](feats, torch.randn_like(regions) * 5)
    assert regions.shape == out.shape == (1, 19, 8, 8)
    assert (other - out).abs().max() > 1e-4


@pytest.mark.parametrize('config', [FCN, OCR])
def test_imagenet_init_loads_every_backbone_weight(config, tmp_path):
    """A local file in the layout of ``open-mmlab://msra/hrnetv2_w18`` loads into every weight
    of the config's backbone."""
    init_default_scope('faceparse_mm')
    cfg = Config.fromfile(config).model.backbone.to_dict()
    replace_norm(cfg, 'SyncBN', 'BN')
    assert cfg['init_cfg'] == dict(type='Pretrained', checkpoint='open-mmlab://msra/hrnetv2_w18')
    torch.manual_seed(7)
    imagenet = {k: torch.randn(v.shape) if v.is_floating_point() else v
                for k, v in MODELS.build(dict(cfg, init_cfg=None)).state_dict().items()}
    path = str(tmp_path / 'hrnetv2_w18.pth')
    torch.save(imagenet, path)
    cfg['init_cfg']['checkpoint'] = path
    backbone = MODELS.build(cfg)
    backbone.init_weights()
    after = backbone.state_dict()
    assert {k for k, v in after.items() if torch.equal(v, imagenet[k])} == set(after)
