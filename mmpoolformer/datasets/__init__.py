from .align_resize import AlignResize
from .loading import LoadImageChecked, UnreadableImageError

__all__ = ['AlignResize', 'LoadImageChecked', 'UnreadableImageError']
