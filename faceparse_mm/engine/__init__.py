from .hooks import AtomicCheckpointHook, NonFiniteLossError, NonFiniteLossHook

__all__ = ['AtomicCheckpointHook', 'NonFiniteLossError', 'NonFiniteLossHook']
