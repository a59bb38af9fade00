from .affinity_loss import AffinityLoss, ideal_affinity
from .ohem_cross_entropy import OhemCrossEntropyLoss

__all__ = ['AffinityLoss', 'OhemCrossEntropyLoss', 'ideal_affinity']
