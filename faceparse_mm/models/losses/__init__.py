from .affinity_loss import AffinityLoss, ideal_affinity
from .budget_loss import BudgetLoss
from .feature_affinity_loss import FeatureAffinityLoss, feature_affinity
from .mse_loss import MSELoss
from .ohem_cross_entropy import OhemCrossEntropyLoss

__all__ = ['AffinityLoss', 'BudgetLoss', 'FeatureAffinityLoss', 'MSELoss', 'OhemCrossEntropyLoss',
           'feature_affinity', 'ideal_affinity']
