from .face_visualizer import FaceSegLocalVisualizer

__all__ = ['FaceSegLocalVisualizer']
