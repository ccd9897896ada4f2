"""mmdet's local visualizer drawing small images upscaled (see :mod:`mmpoolformer.visualization`)."""
from mmdet.visualization import DetLocalVisualizer

from ..registry import VISUALIZERS
from . import DEFAULT_MIN_SIZE, upscale_for_drawing
from .written_drawings import WritesDrawingsAtomically


@VISUALIZERS.register_module()
class ReadableDetVisualizer(WritesDrawingsAtomically, DetLocalVisualizer):
    """``DetLocalVisualizer`` that draws an image whose long side is below ``min_size`` upscaled to ``min_size``
    (ground truth and predictions scaled to match), and labels and scores at least ``min_font_size`` points high
    (mmdet draws the labels of boxes under about 175 x 175 px at half size), so they are legible."""

    def __init__(self, name: str = 'visualizer', *args, min_size: int = DEFAULT_MIN_SIZE, min_font_size: int = 13,
                 **kwargs):
        super().__init__(name, *args, **kwargs)
        self.min_size = min_size
        self.min_font_size = min_font_size

    def draw_texts(self, texts, positions, font_sizes=None, *args, **kwargs):
        if font_sizes is not None and self.min_font_size:
            font_sizes = ([max(int(s), self.min_font_size) for s in font_sizes] if isinstance(font_sizes, (list, tuple))
                          else max(int(font_sizes), self.min_font_size))
        return super().draw_texts(texts, positions, font_sizes, *args, **kwargs)

    def add_datasample(self, name, image, data_sample=None, *args, out_file=None, **kwargs):
        image, data_sample = upscale_for_drawing(image, data_sample, self.min_size)
        with self.drawing_to(out_file):  # written completely or not at all
            return super().add_datasample(name, image, data_sample, *args, out_file=None, **kwargs)
