"""The MetaFormer baselines (CAFormer, ConvFormer, PoolFormerV2, IdentityFormer, RandFormer) against an independent
reference of the official definitions (tests/reference_baselines.py): official- and timm-layout files give the
reference's features and logits; timm's own models confirm the reference and the timm layout; wrong files, sizes and
token grids are refused with their exact messages; frozen stages, activation checkpointing and deploy folding."""
import re

import pytest
import torch

from mmpoolformer import CAFormer, ConvFormer, IdentityFormer, MetaFormer, PoolFormer, PoolFormerV2, RandFormer
from mmpoolformer.apis import init_model
from mmpoolformer.checkpoint import load_backbone_weights
from mmpoolformer.errors import CheckpointError, ConfigError
from tests.helpers import ROOT, run_tool
from tests.reference_baselines import official_state, randomised_reference, timm_state

CLASSES = {'caformer': CAFormer, 'convformer': ConvFormer, 'poolformerv2': PoolFormerV2,
           'identityformer': IdentityFormer, 'randformer': RandFormer}
# one size of each family, and the M sizes with dims ending 576 (ConvFormer/CAFormer) and 768 (the others)
PUBLISHED = [('caformer', 's18'), ('convformer', 'm36'), ('poolformerv2', 's12'), ('identityformer', 'm36'),
             ('randformer', 's12')]
TIMM_FAMILIES = ('caformer', 'convformer', 'poolformerv2')


def image_size(family: str) -> int:
    return 224 if family == 'randformer' else 96  # RandFormer's matrices exist for 224 px only


def images(family: str, batch: int = 2) -> torch.Tensor:
    size = image_size(family)
    return torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(3))


def write_file(ref, layout: str, path) -> str:
    torch.save(official_state(ref) if layout == 'official' else timm_state(ref), path)
    return str(path)


@pytest.fixture(scope='module')
def references():
    return {(family, size): randomised_reference(family, size) for family, size in PUBLISHED}


@pytest.mark.parametrize('family', TIMM_FAMILIES)
def test_reference_and_timm_layout_equal_timm_models(family):
    """The reference and its timm-layout state agree with timm's own model of the family (loaded strictly)."""
    import timm
    size = 's18' if family != 'poolformerv2' else 's12'
    ref = randomised_reference(family, size)
    model = timm.create_model(f'{family}_{size}', pretrained=False).eval()
    model.load_state_dict(timm_state(ref), strict=True)
    x = images(family, batch=1)
    with torch.no_grad():
        assert (model(x) - ref(x)).abs().max().item() <= 1e-4 * ref(x).abs().max().item()


@pytest.mark.parametrize('layout', ['official', 'timm'])
@pytest.mark.parametrize('family,size', PUBLISHED)
def test_file_gives_reference_logits_through_classification_config(family, size, layout, references, tmp_path):
    ref = references[(family, size)]
    path = write_file(ref, layout, tmp_path / f'{family}_{size}.pth')
    model, _ = init_model(f'{ROOT}/configs/classification/{family}_{size}_in1k.py', path)
    x = images(family)
    with torch.no_grad():
        ours, theirs = model(x, mode='tensor'), ref(x)
    assert (ours - theirs).abs().max().item() <= 1e-4 * theirs.abs().max().item()


@pytest.mark.parametrize('layout', ['official', 'timm'])
@pytest.mark.parametrize('family,size', PUBLISHED)
def test_pretrained_backbone_gives_reference_stage_outputs(family, size, layout, references, tmp_path):
    ref = references[(family, size)]
    path = write_file(ref, layout, tmp_path / 'weights.pth')
    backbone = CLASSES[family](arch=size, norm_outputs=False, init_cfg=dict(type='Pretrained', checkpoint=path))
    backbone.init_weights()
    backbone.eval()
    x = images(family)
    with torch.no_grad():
        for ours, theirs in zip(backbone(x), ref.stage_outputs(x)):
            assert ours.shape == theirs.shape
            assert (ours - theirs).abs().max().item() <= 1e-4 * theirs.abs().max().item()


def test_in21k_file_loads_into_backbone_without_its_head(tmp_path):
    ref = randomised_reference('caformer', 's18', num_classes=21841)
    path = write_file(ref, 'official', tmp_path / 'caformer_s18_in21k.pth')
    backbone = CAFormer(arch='s18')
    report = load_backbone_weights(backbone, path)
    assert report['layout'] == 'official'
    assert {'head.fc2.weight', 'head.fc1.weight', 'norm.weight'} <= set(report['ignored'])
    assert report['fresh'] == [f'out_norms.{i}.{p}' for i in range(4) for p in ('bias', 'weight')]
    assert torch.equal(backbone.stages[2].blocks[0].token_mixer.qkv.weight,
                       ref.stages[2][0].token_mixer.qkv.weight)


def message_of(error) -> str:
    return str(error.value)


def test_file_of_another_family_is_refused_naming_both(tmp_path):
    path = write_file(randomised_reference('convformer', 's18'), 'official', tmp_path / 'convformer_s18.pth')
    with pytest.raises(CheckpointError) as error:
        load_backbone_weights(CAFormer(arch='s18'), path)
    assert message_of(error) == (
        f"checkpoint {path} (official layout, arch convformer_s18) does not fit CAFormer(arch='s18'): the model needs "
        f"stages.2.blocks.0.token_mixer.proj.weight (320, 320), which the file lacks (24 such tensors); use the file "
        f"made for this arch or change arch")


def test_file_of_another_size_is_refused_naming_both(tmp_path):
    path = write_file(randomised_reference('poolformerv2', 's24'), 'timm', tmp_path / 'poolformerv2_s24.bin')
    with pytest.raises(CheckpointError) as error:
        load_backbone_weights(PoolFormerV2(arch='s12'), path)
    assert message_of(error) == (
        f"checkpoint {path} (timm layout, arch poolformerv2_s24/identityformer_s24) does not fit "
        f"PoolFormerV2(arch='s12'): the file has stages.0.blocks.2.mlp.act.bias (1,), which the model does not have "
        f"(88 such tensors); use the file made for this arch or change arch")


def test_poolformer_v1_file_is_refused_by_poolformer_v2(tmp_path):
    path = tmp_path / 'v1.pth'
    torch.save(PoolFormer(arch='s12').state_dict(), path)
    with pytest.raises(CheckpointError, match=r"^checkpoint .* \(mmpoolformer layout, arch s12\) does not fit "
                                              r"PoolFormerV2\(arch='s12'\): "):
        load_backbone_weights(PoolFormerV2(arch='s12'), str(path))


def test_randformer_refuses_another_token_grid():
    model = RandFormer(arch=dict(depths=[1, 1, 1, 1], embed_dims=[8, 16, 24, 32])).eval()
    assert model(torch.randn(1, 3, 224, 224))[3].shape == (1, 32, 7, 7)
    with pytest.raises(ConfigError) as error:
        model(torch.randn(1, 3, 256, 256))
    assert message_of(error) == ('RandomMixing was built for a 14x14 token grid but got 16x16; feed the input size '
                                 'its spatial_shape was set for (e.g. 224 px gives 56/28/14/7 at stages 1-4) or change '
                                 'spatial_shape')
    assert RandFormer(arch=dict(depths=[1, 1, 1, 1], embed_dims=[8, 16, 24, 32]), input_size=256).eval()(
        torch.randn(1, 3, 256, 256))[3].shape == (1, 32, 8, 8)


def test_family_fixes_its_mixers():
    with pytest.raises(ConfigError, match=re.escape('CAFormer fixes token_mixers; use mmpoolformer.MetaFormer to build '
                                                    'a MetaFormer with other ones')):
        CAFormer(token_mixers=dict(type='Pooling'))
    with pytest.raises(ConfigError, match=re.escape("arch='s12' is unknown for ConvFormer; choose one of ['b36', "
                                                    "'m36', 's18', 's36'] or pass a dict with depths and embed_dims")):
        ConvFormer(arch='s12')


TINY = dict(depths=[1, 1, 2, 1], embed_dims=[16, 32, 64, 64])


@pytest.mark.parametrize('family', sorted(CLASSES))
def test_with_cp_gives_equal_gradients(family):
    def gradients(with_cp: bool):
        torch.manual_seed(0)
        kwargs = dict(input_size=64) if family == 'randformer' else {}
        model = CLASSES[family](arch=TINY, with_cp=with_cp, drop_path_rate=0.2, **kwargs).train()
        torch.manual_seed(1)
        loss = sum(f.square().mean() for f in model(torch.randn(2, 3, 64, 64)))
        loss.backward()
        return {k: p.grad.clone() for k, p in model.named_parameters()}

    plain, checkpointed = gradients(False), gradients(True)
    assert plain.keys() == checkpointed.keys()
    for key in plain:
        assert torch.allclose(plain[key], checkpointed[key], rtol=1e-5, atol=1e-6), key


def test_with_cp_in_poolformer_and_metaformer():
    for cls in (PoolFormer, MetaFormer):
        torch.manual_seed(0)
        model = cls(arch=TINY, with_cp=True).train()
        assert all(stage.with_cp for stage in model.stages)
        loss = sum(f.sum() for f in model(torch.randn(1, 3, 64, 64)))
        loss.backward()
        assert model.stem.weight.grad is not None


def test_frozen_stages_have_no_gradient():
    model = CAFormer(arch=TINY, frozen_stages=2).train()
    loss = sum(f.sum() for f in model(torch.randn(1, 3, 64, 64)))
    loss.backward()
    frozen = ('stem', 'stem_norm', 'stages.0.', 'stages.1.', 'out_norms.0.', 'out_norms.1.')
    for name, param in model.named_parameters():
        if name.startswith(frozen):
            assert not param.requires_grad and param.grad is None, name
        else:
            assert param.requires_grad and param.grad is not None, name
    assert not model.stages[1].training and model.stages[2].training


@pytest.mark.parametrize('family', sorted(CLASSES))
def test_deploy_folding_keeps_the_outputs(family):
    torch.manual_seed(0)
    kwargs = dict(input_size=64) if family == 'randformer' else {}
    model = CLASSES[family](arch=TINY, **kwargs).eval()
    with torch.no_grad():
        for param in model.parameters():
            param.add_(0.1 * torch.randn_like(param))
        x = torch.randn(2, 3, 64, 64)
        before = model(x)
        unfolded = model.switch_to_deploy()
        after = model(x)
    assert unfolded == []
    for a, b in zip(before, after):
        assert (a - b).abs().max().item() <= 1e-4 * a.abs().max().item()
    folded = {name for name, _ in model.named_parameters()}
    assert not any(k.endswith(".norm2.weight") for k in folded)  # every MLP norm lost its affine


@pytest.mark.parametrize('file_name', ['model.safetensors', 'pytorch_model.bin'])
def test_timm_hub_files_load(file_name, references, tmp_path):
    """timm's hub files: model.safetensors (read without unpickling) and pytorch_model.bin."""
    from safetensors.torch import save_file
    ref = references[('caformer', 's18')]
    path = str(tmp_path / file_name)
    state = {k: v.contiguous() for k, v in timm_state(ref).items()}
    save_file(state, path) if file_name.endswith('.safetensors') else torch.save(state, path)
    backbone = CAFormer(arch='s18', norm_outputs=False)
    report = load_backbone_weights(backbone, path)
    assert report['layout'] == 'timm' and report['fresh'] == []
    x = images('caformer', batch=1)
    with torch.no_grad():
        assert (backbone.eval()(x)[3] - ref.stage_outputs(x)[3]).abs().max().item() <= 1e-4 * 50


def test_hub_downloads_are_cached_under_their_repository_name():
    from mmpoolformer.checkpoint.reading import cache_name
    assert cache_name('https://huggingface.co/timm/caformer_s18.sail_in1k/resolve/main/model.safetensors') == \
        'caformer_s18.sail_in1k-model.safetensors'
    assert cache_name('https://huggingface.co/sail/dl/resolve/main/caformer/caformer_s18.pth') == 'caformer_s18.pth'


def test_truncated_safetensors_file_is_one_line(references, tmp_path):
    from safetensors.torch import save_file
    path = tmp_path / 'model.safetensors'
    save_file({k: v.contiguous() for k, v in timm_state(references[('poolformerv2', 's12')]).items()}, str(path))
    path.write_bytes(path.read_bytes()[:4096])
    with pytest.raises(CheckpointError, match=rf'^checkpoint {re.escape(str(path))} is truncated or not a '
                                              r'safetensors file \(.*\); download it again$'):
        load_backbone_weights(PoolFormerV2(arch='s12'), str(path))


def test_convert_checkpoint_writes_our_layout(references, tmp_path):
    """tools/convert_checkpoint.py turns an official file into this toolbox's layout, which loads strictly."""
    ref = references[('randformer', 's12')]
    src = write_file(ref, 'official', tmp_path / 'randformer_s12.pth')
    dst = tmp_path / 'converted.pth'
    proc = run_tool('tools/convert_checkpoint.py', src, str(dst))
    assert f'wrote {dst}: ' in proc.stdout and '(arch randformer_s12, from the official layout)' in proc.stdout
    converted = torch.load(dst, weights_only=True)
    backbone = RandFormer(arch='s12', norm_outputs=False)
    backbone.load_state_dict(converted['state_dict'], strict=True)
    x = images('randformer', batch=1)
    with torch.no_grad():
        assert (backbone.eval()(x)[3] - ref.stage_outputs(x)[3]).abs().max().item() <= 1e-4 * 50
