from .face_visualizer import FaceSegLocalVisualizer
from .overlay import add_legend, class_areas, overlay_labels

__all__ = ['FaceSegLocalVisualizer', 'add_legend', 'class_areas', 'overlay_labels']
