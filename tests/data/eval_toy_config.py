# The tiny parser of infer_toy_config.py as a test-only config for tools/test.py (no training
# schedule): tests/tools/test_compare_runs.py, test_robustness.py and test_resolution_sweep.py.
_base_ = ['./infer_toy_config.py']
train_dataloader = None
val_dataloader = None
val_evaluator = None
test_cfg = dict(type='TestLoop')
