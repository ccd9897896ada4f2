"""Drawings of small images are upscaled and keep the boxes on the objects."""
import torch


def test_upscaled_drawing_keeps_boxes_on_the_objects(tmp_path):
    import cv2
    import numpy as np
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    from mmpoolformer.visualization.det import ReadableDetVisualizer
    sample = DetDataSample()
    sample.gt_instances = InstanceData(bboxes=torch.tensor([[12., 24., 60., 72.]]), labels=torch.tensor([0]))
    visualizer = ReadableDetVisualizer(name='upscale_test', line_width=1, alpha=1.0)
    visualizer.dataset_meta = dict(classes=('circle',), palette=[(255, 0, 0)])
    out = tmp_path / 'drawn.png'
    visualizer.add_datasample('x', np.zeros((96, 96, 3), np.uint8), sample, draw_pred=False, out_file=str(out))
    drawn = cv2.imread(str(out))[..., ::-1]  # RGB
    assert drawn.shape == (512, 512, 3)
    ys, xs = np.nonzero((drawn[..., 0] > 150) & (drawn[..., 1] < 80) & (drawn[..., 2] < 80))  # the red box edges
    scale = 512 / 96
    assert abs(xs.min() - 12 * scale) <= 3 and abs(xs.max() - 60 * scale) <= 3
    assert abs(ys.min() - 24 * scale) <= 3 and abs(ys.max() - 72 * scale) <= 3
    assert sample.gt_instances.bboxes.tolist() == [[12., 24., 60., 72.]]  # the caller's sample is left as it was
