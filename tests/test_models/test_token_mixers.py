"""Token mixers with a fixed token grid (spatial FC, the frozen random matrix): parameters and size errors."""
import re

import pytest
import torch

from mmpoolformer import MetaFormer
from mmpoolformer.models import RandomMixing, SpatialFC


def test_spatial_fc_refuses_another_input_size():
    model = MetaFormer(arch='s12', out_indices=(3,),
                       token_mixers=[dict(type='Pooling')] * 3 + [dict(type='SpatialFC', spatial_shape=(7, 7))])
    assert model(torch.zeros(1, 3, 224, 224))[0].shape == (1, 512, 7, 7)
    message = ('SpatialFC was built for a 7x7 token grid but got 8x8; feed the input size its spatial_shape was set '
               'for (e.g. 224 px gives 56/28/14/7 at stages 1-4) or change spatial_shape')
    with pytest.raises(ValueError, match=f'^{re.escape(message)}$'):
        model(torch.zeros(1, 3, 256, 256))
    assert tuple(SpatialFC(spatial_shape=14).fc.weight.shape) == (196, 196)


def test_random_mixing_is_frozen_and_refuses_another_size():
    torch.manual_seed(0)
    mixer = RandomMixing(dim=8, spatial_shape=(4, 6))
    assert list(mixer.parameters()) == []
    assert list(mixer.state_dict()) == ['matrix']
    matrix = mixer.matrix
    assert matrix.shape == (24, 24) and torch.allclose(matrix.sum(-1), torch.ones(24)) and (matrix > 0).all()
    x = torch.randn(2, 8, 4, 6)
    expected = torch.einsum('ij,ncj->nci', matrix, x.reshape(2, 8, 24)).reshape(2, 8, 4, 6)
    assert torch.allclose(mixer(x), expected, atol=1e-6)
    message = ('RandomMixing was built for a 4x6 token grid but got 6x4; feed the input size its spatial_shape was '
               'set for (e.g. 224 px gives 56/28/14/7 at stages 1-4) or change spatial_shape')
    with pytest.raises(ValueError, match=f'^{re.escape(message)}$'):
        mixer(torch.randn(1, 8, 6, 4))
    model = MetaFormer(arch=dict(depths=[1, 1], embed_dims=[16, 32]), out_indices=(1,),
                       token_mixers=[dict(type='RandomMixing', spatial_shape=8), dict(type='RandomMixing',
                                                                                       spatial_shape=4)])
    model(torch.randn(2, 3, 32, 32))[0].sum().backward()
    assert not any('token_mixer' in name for name, _ in model.named_parameters())
    assert all(p.grad is not None for p in model.parameters())


def test_sepconv_pointwise_convolutions_run_as_matrix_products_under_cpu_autocast():
    """Under bf16 autocast with a channels_last input SepConv's two 1x1 convolutions are matrix products over the
    NHWC view (as ConvMlp's): the same function within bf16 accuracy, channels_last output; in fp32 it is the plain
    convolution path, bit-equal."""
    from mmpoolformer.models.pointwise import pointwise_as_matmul
    from mmpoolformer.models.token_mixers import SepConv
    torch.manual_seed(0)
    mixer = SepConv(16, bias=True)
    with torch.no_grad():
        for param in mixer.parameters():
            param.add_(0.3 * torch.randn_like(param))
    x = torch.randn(2, 16, 12, 20).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        reference = mixer.pwconv2(mixer.dwconv(mixer.act1(mixer.pwconv1(x))))
        assert torch.equal(mixer(x), reference) and not pointwise_as_matmul(x)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            assert pointwise_as_matmul(x)
            out = mixer(x)
    assert out.shape == reference.shape and out.is_contiguous(memory_format=torch.channels_last)
    assert ((out.float() - reference).norm() / reference.norm()).item() < 2e-2
