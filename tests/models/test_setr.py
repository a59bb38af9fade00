"""SETR-PUP on ViT-B/16 as the setr-pup-vit-b16 configs build it (mmseg's modules): the protocol's
448 crops and 512 test images through a position embedding learnt at 512, the ImageNet
checkpoint's 14 x 14 position embedding resized on loading, the heads' taps."""
import os

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from faceparse_mm.registry import MODELS
from faceparse_mm.utils.build import build_segmentor

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FULL = os.path.join(ROOT, 'configs', 'setr-pup-vit-b16_celebamask.py')
DEMO = os.path.join(ROOT, 'configs', 'demo', 'setr-pup-vit-b16_demo.py')
# narrowed so the test runs in a second; everything else (img_size 512, patch 16, the class
# token, bilinear interpolation, the init) is the config's
NARROW = dict(embed_dims=32, num_layers=4, num_heads=2, out_indices=(0, 1, 2, 3))


def _backbone_cfg(path=FULL, **override):
    cfg = Config.fromfile(path).model.backbone.to_dict()
    cfg.update(override)
    return cfg


def test_the_heads_read_vit_b_layers_3_6_9_and_12():
    cfg = Config.fromfile(FULL).model
    assert cfg.backbone.num_layers == 12 and cfg.backbone.embed_dims == 768
    taps = cfg.backbone.out_indices
    assert [taps[h.in_index] + 1 for h in cfg.auxiliary_head] == [3, 6, 9]
    assert taps[cfg.decode_head.in_index] + 1 == 12
    assert cfg.decode_head.num_convs == 4 and cfg.decode_head.up_scale == 2  # 1/16 -> 1/1


def test_448_crops_and_512_images_use_the_position_embedding_learnt_at_512():
    init_default_scope('faceparse_mm')
    vit = MODELS.build(dict(_backbone_cfg(init_cfg=None), **NARROW))
    vit.eval()  # (mmseg's ViT.train returns None)
    assert vit.pos_embed.shape == (1, 1 + 32 * 32, 32)
    x448 = torch.randn(1, 3, 448, 448)
    with torch.no_grad():
        out448 = vit(x448)[-1]
        assert out448.shape == (1, 32, 28, 28)
        assert vit(torch.randn(1, 3, 512, 512))[-1].shape == (1, 32, 32, 32)
        # the 28 x 28 grid is interpolated from the learnt 32 x 32 one: changing a corner of it
        # changes the 448 output
        vit.pos_embed[:, 1 + 31 * 32 + 31] += 10
        assert (vit(x448)[-1] - out448).abs().max() > 1e-3


def test_the_whole_model_predicts_448_and_512_at_full_size():
    cfg = Config.fromfile(FULL)
    cfg.model.backbone.update(NARROW)
    for head in [cfg.model.decode_head] + list(cfg.model.auxiliary_head):
        head.in_channels, head.channels = 32, 8
    model = build_segmentor(cfg).eval()
    with torch.no_grad():
        for size in (448, 512):
            feats = model.extract_feat(torch.randn(1, 3, size, size))
            assert model.decode_head(feats).shape == (1, 19, size, size)
            assert all(h(feats).shape == (1, 19, size, size)  # two 4x stages
                       for h in model.auxiliary_head)


def test_imagenet_init_loads_the_vit_and_resizes_its_position_embedding(tmp_path):
    """A local file in mmseg's ViT layout at 224 (14 x 14 tokens), as the converted timm ViT-B/16
    the config names, loads into the 512 backbone with the position embedding resized."""
    init_default_scope('faceparse_mm')
    cfg = _backbone_cfg(**NARROW)
    assert cfg['init_cfg'] == dict(type='Pretrained',
                                   checkpoint='pretrain/vit_base_patch16_224.pth')
    torch.manual_seed(0)
    at224 = MODELS.build(dict(cfg, init_cfg=None, img_size=(224, 224)))
    imagenet = {k: torch.randn(v.shape) for k, v in at224.state_dict().items()}
    assert imagenet['pos_embed'].shape == (1, 1 + 14 * 14, 32)
    path = str(tmp_path / 'vit_base_patch16_224.pth')
    torch.save(imagenet, path)
    cfg['init_cfg']['checkpoint'] = path
    vit = MODELS.build(cfg)
    vit.init_weights()
    after = vit.state_dict()
    assert after['pos_embed'].shape == (1, 1 + 32 * 32, 32)
    torch.testing.assert_close(after['pos_embed'][:, 0], imagenet['pos_embed'][:, 0])
    assert all(torch.equal(after[k], v) for k, v in imagenet.items() if k != 'pos_embed')


def test_demo_is_a_small_vit_at_128():
    cfg = Config.fromfile(DEMO).model
    assert cfg.backbone.img_size == (128, 128) and cfg.backbone.num_layers <= 6
    assert 192 <= cfg.backbone.embed_dims <= 384
    assert {h.in_channels for h in [cfg.decode_head] + list(cfg.auxiliary_head)} == {192}
    assert [h.loss_decode.loss_weight for h in cfg.auxiliary_head] == [0.4] * 3
