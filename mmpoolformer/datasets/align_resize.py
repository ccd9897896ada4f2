"""The official PoolFormer segmentation test resize ("AlignResize")."""
import math

import mmcv
from mmcv.transforms import Resize

from ..registry import TRANSFORMS


@TRANSFORMS.register_module()
class AlignResize(Resize):
    """Resize keeping the aspect ratio into ``scale``, then stretch each side up to the next multiple of
    ``size_divisor``.

    With ``scale=(2048, 512)`` an image is first rescaled by ``min(2048 / long_side, 512 / short_side)`` (sides
    rounded to the nearest pixel), then each side is resized to ``ceil(side / 32) * 32`` (bilinear). This is the
    test-time resize of the official PoolFormer Semantic FPN results; mmseg's plain ``Resize`` skips the second step.
    ``scale_factor`` is the total (w, h) factor from the original image. Segmentation maps are left alone (they are
    loaded after this transform at test time and compared at the original size).
    """

    def __init__(self, scale, size_divisor: int = 32, keep_ratio: bool = True, interpolation: str = 'bilinear',
                 **kwargs):
        super().__init__(scale=scale, keep_ratio=keep_ratio, interpolation=interpolation, **kwargs)
        self.size_divisor = size_divisor

    def _resize_img(self, results: dict) -> None:
        super()._resize_img(results)
        if results.get('img') is None:
            return
        height, width = results['img'].shape[:2]
        aligned_h = math.ceil(height / self.size_divisor) * self.size_divisor
        aligned_w = math.ceil(width / self.size_divisor) * self.size_divisor
        if (aligned_h, aligned_w) != (height, width):
            results['img'] = mmcv.imresize(results['img'], (aligned_w, aligned_h), interpolation=self.interpolation,
                                           backend=self.backend)
        ori_h, ori_w = results['ori_shape'] if 'ori_shape' in results else (height, width)
        results['img_shape'] = (aligned_h, aligned_w)
        results['scale_factor'] = (aligned_w / ori_w, aligned_h / ori_h)

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f', size_divisor={self.size_divisor})'
