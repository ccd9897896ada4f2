from .runner import SafeRunner

__all__ = ['SafeRunner']
