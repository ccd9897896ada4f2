"""AlignResize: the official test-time resize rule of the ADE20K configs."""
import numpy as np
import pytest

from tests.helpers import config_in_repo

# Expected sizes written from the rule, by hand: s = min(2048 / long side, 512 / short side); each side becomes
# int(side * s + 0.5); then each side goes up to the next multiple of 32.
ALIGN_CASES = [  # (h, w) in -> (h, w) out
    ((512, 683), (512, 704)),    # s = 1; 683 -> 704
    ((683, 512), (704, 512)),
    ((2048, 512), (2048, 512)),  # s = 1; already multiples of 32
    ((517, 333), (800, 512)),    # s = 512/333; 517 * s = 794.9 -> 795 -> 800; 333 -> 512
    ((1000, 2000), (512, 1024)),  # s = 0.512
    ((31, 31), (512, 512)),
]


@pytest.mark.parametrize('in_hw,out_hw', ALIGN_CASES)
def test_align_resize_follows_the_official_rule(in_hw, out_hw):
    from mmpoolformer.datasets import AlignResize
    img = np.random.default_rng(0).integers(0, 255, (*in_hw, 3), dtype=np.uint8)
    result = AlignResize(scale=(2048, 512), keep_ratio=True, size_divisor=32)(
        dict(img=img, img_shape=in_hw, ori_shape=in_hw))
    assert result['img'].shape[:2] == out_hw and tuple(result['img_shape']) == out_hw
    np.testing.assert_allclose(result['scale_factor'], (out_hw[1] / in_hw[1], out_hw[0] / in_hw[0]))


def test_config_test_pipeline_applies_align_resize(tmp_path):
    import cv2
    import mmseg.datasets  # noqa: F401  (registers mmseg transforms)
    from mmengine.dataset import Compose
    from mmengine.registry import DefaultScope
    cfg = config_in_repo('configs/fpn_poolformer_s12_ade20k_40k.py')
    image, label = tmp_path / 'a.jpg', tmp_path / 'a.png'
    cv2.imwrite(str(image), np.zeros((517, 333, 3), np.uint8))
    cv2.imwrite(str(label), np.ones((517, 333), np.uint8))
    with DefaultScope.overwrite_default_scope('mmseg'):
        pipeline = Compose(cfg.test_pipeline)
        out = pipeline(dict(img_path=str(image), seg_map_path=str(label), reduce_zero_label=True, seg_fields=[]))
    assert tuple(out['inputs'].shape[1:]) == (800, 512)
    assert tuple(out['data_samples'].gt_sem_seg.data.shape[1:]) == (517, 333)  # labels stay at original size
