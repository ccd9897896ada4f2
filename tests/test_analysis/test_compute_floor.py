"""mmpoolformer.analysis.compute_floor: the heavy calls of a forward pass are recorded with their multiply-accumulates
and replayed alone."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mmpoolformer.analysis.compute_floor import compute_floor, matmul_peak_gmacs


class Tiny(nn.Module):
    """A 3x3 convolution, a 1x1 convolution, a linear layer and attention: one heavy call of each kind."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.pointwise = nn.Conv2d(8, 16, 1, bias=False)
        self.linear = nn.Linear(16, 32)

    def forward(self, x):  # x: (1, 3, 12, 20) -> conv (1, 8, 6, 10) -> tokens (1, 60, 16)
        tokens = self.pointwise(self.conv(x)).flatten(2).transpose(1, 2)
        q = k = v = self.linear(tokens).unflatten(-1, (2, 16)).transpose(1, 2)  # (1, 2 heads, 60, 16)
        return F.scaled_dot_product_attention(q, k, v)


@pytest.mark.parametrize('dtype', [None, torch.bfloat16])
def test_floor_records_each_heavy_call_with_its_macs(dtype):
    torch.manual_seed(0)
    floor = compute_floor(Tiny().eval(), torch.randn(1, 3, 12, 20), dtype=dtype, repeats=2)
    ops = {op['kind']: op for op in floor['ops']}
    assert {kind: op['calls'] for kind, op in ops.items()} == {'convolution': 1, 'matrix product': 2, 'attention': 1}
    pixels = 6 * 10
    assert ops['convolution']['gmacs'] == pytest.approx(pixels * 3 * 9 * 8 / 1e9)
    assert ops['matrix product']['gmacs'] == pytest.approx(pixels * (8 * 16 + 16 * 32) / 1e9)  # 1x1 conv + linear
    assert ops['attention']['gmacs'] == pytest.approx(2 * 2 * 60 * 60 * 16 / 1e9)  # q k^T and p v, two heads
    assert floor['total_ms'] == pytest.approx(sum(op['ms'] for op in floor['ops'])) and floor['total_ms'] > 0
    by_shape = {tuple(map(tuple, call['shapes'])): call for call in floor['calls']}
    pointwise = by_shape[((1, 8, 6, 10), (16, 8, 1, 1))]  # counted as the matrix product over the pixels it is
    assert pointwise['kind'] == 'matrix product' and pointwise['fastest'] in ('as_recorded', 'as_matrix_product')
    attention = next(call for call in floor['calls'] if call['kind'] == 'attention')
    assert attention['dtype'] == ('torch.float32' if dtype is None else 'torch.bfloat16')
    assert attention['fastest'] in (('as_recorded',) if dtype is None else ('as_recorded', 'in_fp32'))


def test_matmul_peak_is_a_rate():
    assert matmul_peak_gmacs(size=256, repeats=2) > 0.01
