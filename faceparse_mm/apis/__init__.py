"""Inference helpers: :class:`FaceParser` (a trained model on images in memory or on disk)."""
from .inference import FaceParser, model_input_size, read_image, resize_image, resize_nearest

__all__ = ['FaceParser', 'model_input_size', 'read_image', 'resize_image', 'resize_nearest']
