"""MMSegmentation's ``IoUMetric`` with its ``output_dir`` label maps (``tools/test.py --out``) each written completely
or not at all."""
import os.path as osp

import numpy as np
from mmseg.evaluation import IoUMetric

from ..fileio import write_image_atomically
from ..registry import METRICS


@METRICS.register_module()
class IoUMetricWritingMapsAtomically(IoUMetric):
    """:class:`mmseg.evaluation.IoUMetric`, same arguments and metrics. With ``output_dir``, one PNG per image, named
    after it, holding the predicted labels (``reduce_zero_label``: predictions 0..N-1 written as the file labels
    1..N, as MMSegmentation does), each written under a temporary name and renamed when complete."""

    def process(self, data_batch, data_samples) -> None:
        output_dir, self.output_dir = self.output_dir, None  # the parent scores; the maps are written here
        try:
            super().process(data_batch, data_samples)
        finally:
            self.output_dir = output_dir
        if output_dir is None:
            return
        for sample in data_samples:
            labels = sample['pred_sem_seg']['data'].squeeze().cpu().numpy()
            if sample.get('reduce_zero_label', False):
                labels = labels + 1
            name = osp.splitext(osp.basename(sample['img_path']))[0] + '.png'
            write_image_atomically(osp.join(osp.abspath(output_dir), name), labels.astype(np.uint8),
                                   what='label map')
