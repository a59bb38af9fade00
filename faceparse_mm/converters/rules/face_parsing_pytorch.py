"""face-parsing.PyTorch's BiSeNet (``model.BiSeNet(n_classes=19)``; checkpoint ``79999_iter.pth``,
trained on CelebAMask-HQ's 30,000 images, its test split included) for
``configs/bisenetv1-fp_celebamask.py``: the same tensors under our names."""
from faceparse_mm.datasets.class_table import CLASSES, PALETTE

from ..core import ConversionRules, register

RULES = register(ConversionRules(
    name='face_parsing_pytorch',
    source_repo='https://github.com/zllrunning/face-parsing.PyTorch',
    source_model='model.BiSeNet(n_classes=19)',
    config='configs/bisenetv1-fp_celebamask.py',
    model_config='configs/_base_/models/bisenetv1-fp.py',
    renames=(
        (r'cp\.(.*)', r'backbone.context_path.\1'),
        (r'ffm\.(.*)', r'backbone.ffm.\1'),
        (r'conv_out\.conv\.(.*)', r'decode_head.convs.0.\1'),
        (r'conv_out\.conv_out\.(.*)', r'decode_head.conv_seg.\1'),
        (r'conv_out16\.conv\.(.*)', r'auxiliary_head.0.convs.0.\1'),
        (r'conv_out16\.conv_out\.(.*)', r'auxiliary_head.0.conv_seg.\1'),
        (r'conv_out32\.conv\.(.*)', r'auxiliary_head.1.convs.0.\1'),
        (r'conv_out32\.conv_out\.(.*)', r'auxiliary_head.1.conv_seg.\1'),
    ),
    signature=('cp.resnet.conv1.weight', 'cp.arm16.conv.conv.weight', 'ffm.convblk.conv.weight',
               'conv_out.conv_out.weight'),
    dataset_meta=dict(classes=list(CLASSES), palette=PALETTE),
))
