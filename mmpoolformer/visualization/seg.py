"""mmseg's local visualizer drawing small images upscaled (see :mod:`mmpoolformer.visualization`)."""
from mmseg.visualization import SegLocalVisualizer

from ..registry import VISUALIZERS
from . import DEFAULT_MIN_SIZE, upscale_for_drawing
from .written_drawings import WritesDrawingsAtomically


@VISUALIZERS.register_module()
class ReadableSegVisualizer(WritesDrawingsAtomically, SegLocalVisualizer):
    """``SegLocalVisualizer`` that draws an image whose long side is below ``min_size`` upscaled to ``min_size``
    (ground-truth and predicted maps resized to match, nearest neighbour), so the class labels are legible."""

    def __init__(self, name: str = 'visualizer', *args, min_size: int = DEFAULT_MIN_SIZE, **kwargs):
        super().__init__(name, *args, **kwargs)
        self.min_size = min_size

    def add_datasample(self, name, image, data_sample=None, *args, out_file=None, **kwargs):
        image, data_sample = upscale_for_drawing(image, data_sample, self.min_size)
        with self.drawing_to(out_file):  # written completely or not at all
            return super().add_datasample(name, image, data_sample, *args, out_file=None, **kwargs)
