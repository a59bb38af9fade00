# The zoo's demo backbone: ResNet-18 with the deep stem (mmseg's ResNetV1c), dilated to output
# stride 8, no pretrained weights. Every demo config whose paper backbone does not fit the CPU
# budget uses this one (with its head's in_channels set from demo_r18_channels), so that the
# demo rows compare heads on the same backbone. Stage outputs: 64, 128, 256, 512 channels.
# `_delete_`: it replaces the paper's backbone whole (no key of that one, a plugin, a stem width,
# carries over), whatever its type.
demo_backbone_r18_d8 = dict(
    _delete_=True, type='ResNetV1c', depth=18, num_stages=4, out_indices=(0, 1, 2, 3),
    dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1), norm_cfg=dict(type='SyncBN', requires_grad=True),
    norm_eval=False, style='pytorch', contract_dilation=True, init_cfg=None)
demo_r18_channels = (64, 128, 256, 512)
