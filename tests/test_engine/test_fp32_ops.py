"""mmpoolformer.engine.fp32_ops: a two-stage detector trains under bf16 autocast (mmcv's NMS and RoIAlign have no
bf16 kernels) once its RoI extractors and dense heads' post-processing take fp32, as the runner builds every model."""
import pytest
import torch

from mmpoolformer.engine.fp32_ops import keep_in_fp32
from tests.helpers import build_model, config_in_repo, detector_step


def tiny_mask_rcnn():
    cfg = config_in_repo('configs/quickstart/mask_rcnn_poolformer_s12_demo.py')
    cfg.model.backbone.arch = dict(depths=[1, 1, 1, 1], embed_dims=[16, 24, 32, 40], layer_scale_init_value=0.5)
    cfg.model.neck.in_channels = [16, 24, 32, 40]
    return build_model(cfg)


def bf16_step(model):
    with torch.autocast('cpu', dtype=torch.bfloat16):
        return detector_step(model, with_mask=True, image_shapes=((3, 96, 128),), num_classes=4)


def test_mask_rcnn_needs_fp32_post_processing_under_bf16():
    with pytest.raises(RuntimeError, match='expected scalar type Float but found BFloat16'):
        bf16_step(tiny_mask_rcnn())


def test_mask_rcnn_trains_under_bf16_with_fp32_post_processing():
    model = tiny_mask_rcnn()
    assert keep_in_fp32(model) == 3  # the RPN head, the box and the mask RoI extractors; once
    assert keep_in_fp32(model) == 0
    losses, total, results = bf16_step(model)
    assert torch.isfinite(total) and {'loss_rpn_cls', 'loss_cls', 'loss_mask'} <= set(losses)
    assert len(results) == 1 and results[0].pred_instances.bboxes.dtype == torch.float32
