from .face_metric import FaceParsingMetric, confusion_matrix, metrics_from_confusion

__all__ = ['FaceParsingMetric', 'confusion_matrix', 'metrics_from_confusion']
