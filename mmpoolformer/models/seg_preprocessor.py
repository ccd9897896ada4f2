"""mmseg's data preprocessor, extended to test batches whose images differ in size."""
from mmseg.models.data_preprocessor import SegDataPreProcessor
from mmseg.utils import stack_batch

from ..registry import MODELS


@MODELS.register_module()
class MixedSizeSegDataPreProcessor(SegDataPreProcessor):
    """``SegDataPreProcessor`` that also accepts a test batch of images of different sizes.

    mmseg 1.2 refuses such a batch. Here the images are padded (bottom/right, with ``pad_val``) to the largest size
    in the batch rounded up to ``test_cfg['size_divisor']`` (default 32); each sample records its padding, and mmseg's
    segmentor crops the prediction back and resizes it to the original image. Batches of equal size, and training,
    are handled exactly as by ``SegDataPreProcessor``.
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        sizes = {tuple(img.shape[-2:]) for img in data['inputs']}
        if training or len(sizes) <= 1:
            return super().forward(data, training)
        data = self.cast_data(data)
        inputs = data['inputs']
        if self.channel_conversion and inputs[0].size(0) == 3:
            inputs = [img[[2, 1, 0], ...] for img in inputs]
        inputs = [img.float() for img in inputs]
        if self._enable_normalize:
            inputs = [(img - self.mean) / self.std for img in inputs]
        size_divisor = (self.test_cfg or {}).get('size_divisor', 32)
        inputs, padded = stack_batch(inputs=inputs, size_divisor=size_divisor, pad_val=self.pad_val,
                                     seg_pad_val=self.seg_pad_val)
        data_samples = data.get('data_samples')
        if data_samples is not None:
            for sample, pad_info in zip(data_samples, padded):
                sample.set_metainfo({**pad_info})
        return dict(inputs=inputs, data_samples=data_samples)
