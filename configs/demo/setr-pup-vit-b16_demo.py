# SETR-PUP (configs/setr-pup-vit-b16_celebamask.py's heads, auxiliary heads and losses) on
# generated faces with the CPU schedule. Encoder: a small ViT (192-d, 6 layers, 3 heads, 16 x 16
# patches: 8 x 8 tokens on the 128-px crops; ViT-B/16 does not fit the CPU budget) with the
# position embedding learnt at 128, no ImageNet weights; heads narrowed to 64 channels; the
# auxiliary heads read layers 2, 3 and 5 of 6 and the main head layer 6 (ViT-B's 3, 6, 9, 12 of
# 12 halved).
_base_ = [
    '../_base_/models/setr-pup-vit-b16.py', '../_base_/datasets/celebamask_hq_demo.py',
    '../_base_/schedules/schedule_demo.py', '../_base_/default_runtime.py'
]
demo_embed_dims = 192
# a list replaces the base's whole: the auxiliary heads are written out (the base's, narrowed)
demo_aux_head = dict(
    type='SETRUPHead', in_channels=demo_embed_dims, channels=64, num_classes=19,
    dropout_ratio=0, norm_cfg=dict(type='SyncBN', requires_grad=True), num_convs=2, up_scale=4,
    kernel_size=3, align_corners=False,
    loss_decode=dict(type='OhemCrossEntropyLoss', thresh=0.7, min_kept_ratio=1 / 16,
                     loss_weight=0.4))
model = dict(
    backbone=dict(img_size=(128, 128), embed_dims=demo_embed_dims, num_layers=6, num_heads=3,
                  out_indices=(1, 2, 4, 5)),
    decode_head=dict(in_channels=demo_embed_dims, channels=64),
    auxiliary_head=[dict(demo_aux_head, in_index=0), dict(demo_aux_head, in_index=1),
                    dict(demo_aux_head, in_index=2)])
