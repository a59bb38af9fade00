from .ohem_cross_entropy import OhemCrossEntropyLoss

__all__ = ['OhemCrossEntropyLoss']
