"""mmpoolformer.models.names: every published name builds the backbone of its family with the published settings,
and one check refuses what a name cannot be."""
import re

import pytest
import torch

from mmpoolformer.errors import ConfigError
from mmpoolformer.models import CAFormer, PoolFormer, RandFormer, create_backbone
from mmpoolformer.models.arch_settings import ARCH_SETTINGS, BASELINE_ARCH_SETTINGS
from mmpoolformer.models.names import is_backbone_name, parse_backbone_name, published_names


def test_every_published_name_parses_to_its_family_table():
    names = published_names()
    assert len(names) == len(ARCH_SETTINGS) + sum(len(t) for t in BASELINE_ARCH_SETTINGS.values())
    for name in names:
        family, _, size = name.rpartition('_')
        parsed = parse_backbone_name(name, shape=(224, 224))
        table = ARCH_SETTINGS if family == 'poolformer' else BASELINE_ARCH_SETTINGS[family]
        assert (parsed.family, parsed.size) == (family, size)
        assert parsed.arch['depths'] == table[size]['depths'] and parsed.arch['embed_dims'] == table[size]['embed_dims']
        assert is_backbone_name(name)
    assert parse_backbone_name('S12').name == 's12' and parse_backbone_name('poolformer_s12').name == 's12'
    assert not is_backbone_name('x99') and not is_backbone_name('caformer_s12') and not is_backbone_name('Pooling')


def test_create_backbone_builds_the_named_model_with_options():
    model = create_backbone('caformer_s18', depths=[1, 1, 1, 1], out_indices=(3,))
    assert type(model) is CAFormer and [len(s.blocks) for s in model.stages] == [1, 1, 1, 1]
    assert model.out_indices == (3,)
    published = create_backbone('s12')
    assert type(published) is PoolFormer and published.arch_name == 's12'  # messages name it as published
    scaled = create_backbone('s12', arch=dict(layer_scale_init_value=1.))
    assert scaled.arch['layer_scale_init_value'] == 1. and scaled.arch_name == 'custom'
    rand = create_backbone('randformer_s12', shape=(64, 64), depths=[1, 1, 1, 1])
    assert type(rand) is RandFormer and rand.input_size == 64
    assert [o.shape[-1] for o in rand(torch.randn(1, 3, 64, 64))] == [16, 8, 4, 2]


@pytest.mark.parametrize('shape', [None, (64, 96), (100, 100)])
def test_randformer_needs_a_square_shape_divisible_by_32(shape):
    shown = 'none' if shape is None else f'{shape[0]} {shape[1]}'
    with pytest.raises(ConfigError, match=re.escape(
            f'randformer_s12: RandFormer mixes a fixed token grid; pass a square --shape divisible by 32 (e.g. '
            f'--shape 224 224), not {shown}')):
        create_backbone('randformer_s12', shape=shape)
