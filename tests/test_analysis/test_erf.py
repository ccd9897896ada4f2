"""mmpoolformer.analysis.erf: the effective receptive field of a backbone's last stage, checked on backbones whose
field is known in closed form."""
import numpy as np
import torch
from torch import nn

from mmpoolformer.analysis.erf import erf, mass_areas


class ConvThenChannelNorm(nn.Module):
    """A 5x5 convolution (3 -> 4 channels, same size) and, optionally, a LayerNorm over the channels of each pixel
    without affine: the last op of the baselines' stage outputs. Returns a one-stage pyramid, as backbones do."""

    def __init__(self, channel_norm: bool):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 5, padding=2, bias=False)
        self.channel_norm = channel_norm

    def forward(self, x):
        out = self.conv(x)
        if self.channel_norm:
            out = nn.functional.layer_norm(out.permute(0, 2, 3, 1), (4,)).permute(0, 3, 1, 2)
        return (out,)


def test_field_of_a_positive_convolution_is_its_kernel_mass():
    """Positive kernel, positive image: every output channel at the centre is active, so the field is the kernel's
    absolute values summed over input and output channels, placed around the centre pixel."""
    torch.manual_seed(0)
    model = ConvThenChannelNorm(channel_norm=False)
    with torch.no_grad():
        model.conv.weight.uniform_(0.1, 1.0)
    field = erf(model, [torch.rand(1, 3, 16, 16) + 0.1])
    expected = np.zeros((16, 16), dtype=np.float32)
    expected[6:11, 6:11] = model.conv.weight.detach().abs().sum((0, 1)).numpy()  # (cross-correlation: no flip)
    np.testing.assert_allclose(field, expected, rtol=1e-5, atol=1e-7)
    assert mass_areas(field)[0.9] <= 25 / 256


def test_field_after_a_channel_norm_covers_the_kernel_footprint():
    """The normalised channels of one pixel sum to zero, so summing them gives no gradient at all; the field of
    relu(centre) covers exactly the convolution's 5x5 footprint around the centre pixel."""
    torch.manual_seed(0)
    model = ConvThenChannelNorm(channel_norm=True)
    images = [torch.randn(1, 3, 16, 16) for _ in range(3)]
    field = erf(model, images)
    support = np.zeros((16, 16), dtype=bool)
    support[6:11, 6:11] = True
    assert field[support].min() > 0.01  # (the plain sum's rounding noise is ~1e-7)
    assert (field[~support] == 0).all()
    x = images[0].clone().requires_grad_(True)
    model(x)[0][0, :, 8, 8].sum().backward()  # the plain channel sum: a constant
    assert x.grad.abs().max() < 1e-5
