"""mmpoolformer/analysis/pass_profile.py: profiler events sorted into kinds of pass, eager and compiled."""
import pytest
import torch
from torch import nn

from mmpoolformer.analysis.pass_profile import HEAVY, OVERHEAD, outside_lines, pass_kinds, time_by_pass


@pytest.mark.parametrize('name, kind', [
    ('aten::mkldnn_convolution', HEAVY), ('aten::addmm', HEAVY), ('mkldnn::_convolution_pointwise', HEAVY),
    ('aten::_scaled_dot_product_flash_attention_for_cpu', HEAVY),
    ('aten::native_group_norm', 'norm'), ('aten::avg_pool2d', 'pooling'), ('aten::gelu', 'activation'),
    ('aten::add_', 'scale/residual'), ('aten::_to_copy', 'copy/cast'),
    # torch.compile's fused C++ kernels: one pass, all its kinds
    ('graph_0_cpp_fused_add_avg_pool2d_convolution_mul_native_group_norm_sub_unsqueeze_1',
     'norm + pooling + scale/residual'),
    ('graph_0_cpp_fused__to_copy_gelu_10', 'activation + copy/cast'),
    ('## Call CompiledFxGraph f43jpw6je6 ##', OVERHEAD), ('aten::empty', OVERHEAD),
    ('aten::var_mean', 'norm'),
])
def test_pass_kinds(name, kind):
    assert pass_kinds(name) == kind


def test_eager_passes_are_found_and_compiled_kernels_are_visible():
    block = nn.Sequential(nn.GroupNorm(1, 8), nn.AvgPool2d(3, 1, 1), nn.Flatten(2), nn.Linear(16, 32), nn.GELU())
    x = torch.randn(2, 8, 4, 4)
    passes = time_by_pass(lambda: block(x), calls=2)
    assert {HEAVY, 'norm', 'pooling', 'activation'} <= set(passes)
    assert list(passes.values()) == sorted(passes.values(), reverse=True) and all(v >= 0 for v in passes.values())
    lines = outside_lines('fp32', 12.0, 10.0, passes)
    assert lines[0].startswith('outside the heavy kernels fp32: fast 12.0 ms - floor 10.0 ms = 2.0 ms (0.20x the '
                               'floor); by kind of pass (profiler, per call; heavy kernels ')
    assert len(lines) == len(passes) and all(line.endswith(' %') for line in lines[1:])
