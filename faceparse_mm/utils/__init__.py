from .io import atomic_path, write_json_atomic, write_text_atomic

__all__ = ['atomic_path', 'write_json_atomic', 'write_text_atomic']
