# face-parsing.PyTorch's architecture under the protocol; its public checkpoint converts with
# tools/model_converters/face_parsing_pytorch.py (it was trained on all 30,000 images, the test
# split included, so its test numbers are not comparable to models trained here).
_base_ = [
    './_base_/models/bisenetv1-fp.py', './_base_/datasets/celebamask_hq.py',
    './_base_/schedules/schedule_80k.py', './_base_/default_runtime.py'
]
