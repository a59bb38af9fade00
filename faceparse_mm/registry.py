"""Registries of the ``faceparse_mm`` scope.

Each registry is a child of mmsegmentation's registry of the same kind. With
``default_scope='faceparse_mm'`` a config reaches our modules by ``type='Name'`` and, through the
parent, every module mmseg and mmengine register (``type='EncoderDecoder'``, ``'RandomResize'``,
``'SegVisualizationHook'``...). A name registered here shadows the parent's only inside this scope;
``type='mmseg.Name'`` always reaches mmseg's own.
"""
from mmengine.registry import Registry
from mmseg import registry as _mmseg

SCOPE = 'faceparse_mm'


def _child(parent: Registry, locations=()) -> Registry:
    # The parent's locations too: a child's lookup reads the parent's table without importing
    # the parent's modules first.
    return Registry(parent.name, parent=parent, scope=SCOPE,
                    locations=list(locations) + list(parent._locations))


RUNNERS = _child(_mmseg.RUNNERS)
RUNNER_CONSTRUCTORS = _child(_mmseg.RUNNER_CONSTRUCTORS)
LOOPS = _child(_mmseg.LOOPS)
HOOKS = _child(_mmseg.HOOKS, ['faceparse_mm.engine'])
DATASETS = _child(_mmseg.DATASETS, ['faceparse_mm.datasets'])
DATA_SAMPLERS = _child(_mmseg.DATA_SAMPLERS)
TRANSFORMS = _child(_mmseg.TRANSFORMS, ['faceparse_mm.datasets'])
MODELS = _child(_mmseg.MODELS, ['faceparse_mm.models'])
MODEL_WRAPPERS = _child(_mmseg.MODEL_WRAPPERS)
WEIGHT_INITIALIZERS = _child(_mmseg.WEIGHT_INITIALIZERS)
OPTIMIZERS = _child(_mmseg.OPTIMIZERS)
OPTIM_WRAPPERS = _child(_mmseg.OPTIM_WRAPPERS)
OPTIM_WRAPPER_CONSTRUCTORS = _child(_mmseg.OPTIM_WRAPPER_CONSTRUCTORS)
PARAM_SCHEDULERS = _child(_mmseg.PARAM_SCHEDULERS)
METRICS = _child(_mmseg.METRICS, ['faceparse_mm.evaluation'])
EVALUATOR = _child(_mmseg.EVALUATOR)
TASK_UTILS = _child(_mmseg.TASK_UTILS)
VISUALIZERS = _child(_mmseg.VISUALIZERS)
VISBACKENDS = _child(_mmseg.VISBACKENDS)
LOG_PROCESSORS = _child(_mmseg.LOG_PROCESSORS)
INFERENCERS = _child(_mmseg.INFERENCERS)
