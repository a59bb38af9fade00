# Polarized Self-Attention (Liu et al., "Polarized Self-Attention: Towards High-quality
# Pixel-wise Regression", 2021) as the authors built it for segmentation (DeLightCMU/PSA): a
# PSA_s module (PolarizedSelfAttention, mode='sequential') after the first conv (its BN + ReLU)
# of every BasicBlock of HRNet's stages 2-4 (PluginHRNet: 104 modules at W18; the authors' code
# also defines PSA_p but uses PSA_s), topped by OCRNet's cascade
# (configs/_base_/models/ocrnet-hrnet-w18.py: soft object regions weighted 0.4, OCR head with
# scale=1). The authors' model is HRNet-W48; narrowed to W18 it has 12,844,990 inference
# parameters with 19 classes. Ours: 12,844,208 (tests/data/zoo_params.json) = mmseg's OCRNet-HR18
# 12,080,036 + the PSA modules 764,172 (each as the authors' module); the 782 fewer are the biases
# of the OCR head's 3x3 conv (512) and of the soft-region head's 1x1 conv (270), which the
# authors' HRNet-OCR code keeps before a BatchNorm that cancels them (mmseg leaves them out).
# The PSA_s modules compute the authors' PSA_s (tests/converters/test_psa.py): its spatial-only
# softmax is on each value channel over the positions, before the product (the module's
# default for mode='sequential'); spatial_softmax='channels' is the paper's (over the pooled
# query's channels). The HRNet ImageNet checkpoint loads into every HRNet weight; the PSA
# modules start from PyTorch's default init.
_base_ = ['./ocrnet-hrnet-w18.py']
arch_info = dict(title='PSA_s + OCRNet, HRNetV2-W18', family='attention',
                 paper='Liu et al., Polarized Self-Attention, 2021')
psa = dict(type='PolarizedSelfAttention', mode='sequential')
model = dict(
    backbone=dict(
        type='PluginHRNet',
        plugins=[dict(cfg=psa, stages=(False, True, True, True), position='after_conv1')]))
