# tests/data/infer_toy_config.py with a backbone that freezes the traced input size in an ONNX
# graph (tests.infer_toy.ToyFrozenSizeBackbone): export_onnx.py --dynamic must refuse it.
_base_ = ['./infer_toy_config.py']
custom_imports = dict(imports=['faceparse_mm', 'tests.toy', 'tests.infer_toy'],
                      allow_failed_imports=False)
model = dict(backbone=dict(type='ToyFrozenSizeBackbone'))
