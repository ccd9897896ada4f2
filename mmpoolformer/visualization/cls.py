"""MMPretrain's visualizer with its drawings written completely or not at all (see
:mod:`mmpoolformer.visualization.written_drawings`)."""
from mmpretrain.visualization import UniversalVisualizer

from ..registry import VISUALIZERS
from .written_drawings import WritesDrawingsAtomically


@VISUALIZERS.register_module()
class UniversalVisualizerWritingAtomically(WritesDrawingsAtomically, UniversalVisualizer):
    """:class:`mmpretrain.visualization.UniversalVisualizer`, same arguments; ``visualize_cls(..., out_file=F)``
    writes ``F`` completely or not at all."""

    def visualize_cls(self, image, data_sample, *args, out_file=None, **kwargs):
        with self.drawing_to(out_file):
            return super().visualize_cls(image, data_sample, *args, out_file=None, **kwargs)
