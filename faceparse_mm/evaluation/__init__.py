from .clip_metric import FaceClipMetric, flicker_counts, flicker_from_counts
from .face_metric import FaceParsingMetric, confusion_matrix, metrics_from_confusion

__all__ = ['FaceParsingMetric', 'confusion_matrix', 'metrics_from_confusion']
__all__ += ['FaceClipMetric', 'flicker_counts', 'flicker_from_counts']
