"""Detectors and segmentors around the backbone predict batches of odd image sizes."""
import pytest
import torch

from tests.helpers import build_model, config_in_repo, detector_step


@pytest.mark.parametrize('config', ['configs/quickstart/retinanet_poolformer_s12_demo.py',
                                    'configs/quickstart/mask_rcnn_poolformer_s12_demo.py'])
def test_detector_predicts_a_batch_of_odd_sizes(config):
    model = build_model(config_in_repo(config))
    _, total, results = detector_step(model, with_mask='mask' in config, image_shapes=((3, 31, 31), (3, 333, 517)),
                                      num_classes=4)
    assert torch.isfinite(total)
    assert [tuple(r.ori_shape) for r in results] == [(31, 31), (333, 517)]
    for result, (h, w) in zip(results, [(31, 31), (333, 517)]):
        boxes = result.pred_instances.bboxes
        assert (boxes[:, 0::2] <= w + 1e-3).all() and (boxes[:, 1::2] <= h + 1e-3).all()


def test_segmentor_predicts_a_batch_of_odd_sizes():
    from mmseg.structures import SegDataSample
    model = build_model(config_in_repo('configs/quickstart/fpn_poolformer_s12_demo.py')).eval()
    inputs, samples = [], []
    for h, w in ((31, 31), (333, 517)):
        inputs.append(torch.randint(0, 256, (3, h, w), dtype=torch.uint8))
        samples.append(SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w))))
    with torch.no_grad():
        results = model.test_step(dict(inputs=inputs, data_samples=samples))
    assert [tuple(r.pred_sem_seg.data.shape[1:]) for r in results] == [(31, 31), (333, 517)]
