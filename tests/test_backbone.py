"""PoolFormer / MetaFormer backbone: numbers against mmpretrain's and timm's models, freezing, gradients, registries."""
import os
import textwrap

import pytest
import torch
from mmengine.config import Config

from mmpoolformer import MetaFormer, PoolFormer
from mmpoolformer.checkpoint import CheckpointError
from mmpoolformer.models.metaformer import ARCH_SETTINGS
from tests import reference_weights as rw

INPUT_HW = (197, 263)


def reference_features(ref, x):
    with torch.no_grad():
        return ref(x)


def our_features(model, x):
    with torch.no_grad():
        return model.eval()(x)


def assert_close(ours, theirs, tol=1e-5):
    assert len(ours) == len(theirs)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert a.shape == b.shape, f'stage {i}: {a.shape} vs {b.shape}'
        err = (a - b).abs().max().item()
        assert err <= tol, f'stage {i}: max |diff| {err:.3g} > {tol}'


def stage_shape(h, w, stage):
    """Expected spatial size from the convolution arithmetic: stem k7 s4 p2, then k3 s2 p1 per later stage."""
    h, w = (h + 4 - 7) // 4 + 1, (w + 4 - 7) // 4 + 1
    for _ in range(stage):
        h, w = (h + 2 - 3) // 2 + 1, (w + 2 - 3) // 2 + 1
    return h, w


@pytest.fixture(scope='module', params=['s12', 'm36'])
def arch_and_ref(request):
    return request.param, rw.randomised_reference(request.param)


@pytest.fixture(scope='module')
def image():
    torch.manual_seed(1)
    return torch.randn(2, 3, *INPUT_HW)


WRITERS = {'official_imagenet': rw.official_imagenet_file, 'official_detector': rw.official_detector_file,
           'timm': rw.timm_file, 'mmpretrain': rw.mmpretrain_file}


@pytest.mark.parametrize('fmt', sorted(WRITERS))
def test_every_format_matches_mmpretrain(arch_and_ref, image, fmt, tmp_path):
    arch, ref = arch_and_ref
    path = str(tmp_path / f'{fmt}.pth')
    WRITERS[fmt](ref, path)
    expected_ref = ref
    if fmt in ('official_imagenet', 'timm'):  # ImageNet files carry no stage-output norms: those start fresh
        expected_ref = rw.randomised_reference(arch)
        rw.reset_out_norms(expected_ref)
    model = PoolFormer(arch=arch, init_cfg=dict(type='Pretrained', checkpoint=path))
    model.init_weights()
    ours = our_features(model, image)
    assert_close(ours, reference_features(expected_ref, image))
    for i, feat in enumerate(ours):
        assert feat.shape == (2, ARCH_SETTINGS[arch]['embed_dims'][i], *stage_shape(*INPUT_HW, i))


def test_load_report_lists_fresh_and_ignored(tmp_path):
    ref = rw.randomised_reference('s12')
    path = str(tmp_path / 'imagenet.pth')
    rw.official_imagenet_file(ref, path)
    from mmpoolformer.checkpoint import load_backbone_weights
    report = load_backbone_weights(PoolFormer(arch='s12', out_indices=(1, 2, 3)), path)
    assert report['layout'] == 'official'
    assert report['fresh'] == ['out_norms.1.bias', 'out_norms.1.weight', 'out_norms.2.bias', 'out_norms.2.weight',
                               'out_norms.3.bias', 'out_norms.3.weight']
    assert report['ignored'] == ['head.bias', 'head.weight', 'norm.bias', 'norm.weight']
    assert len(report['loaded']) == len(PoolFormer(arch='s12', out_indices=()).state_dict())


def test_detector_file_into_retinanet_backbone_ignores_unused_norm(tmp_path, image):
    ref = rw.randomised_reference('s12')
    path = str(tmp_path / 'det.pth')
    rw.official_detector_file(ref, path)
    model = PoolFormer(arch='s12', out_indices=(1, 2, 3), init_cfg=dict(type='Pretrained', checkpoint=path))
    model.init_weights()
    assert_close(our_features(model, image), reference_features(ref, image)[1:])


def test_other_arch_file_is_refused(tmp_path):
    path = str(tmp_path / 's24.pth')
    rw.official_imagenet_file(rw.randomised_reference('s24'), path)
    with pytest.raises(CheckpointError) as err:
        PoolFormer(arch='s12', init_cfg=dict(type='Pretrained', checkpoint=path)).init_weights()
    msg = str(err.value)
    assert "arch s24" in msg and "PoolFormer(arch='s12')" in msg and 'stages.0.blocks.2.' in msg
    path = str(tmp_path / 'm36.pth')
    rw.official_imagenet_file(rw.randomised_reference('m36'), path)
    with pytest.raises(CheckpointError) as err:
        PoolFormer(arch='s36', init_cfg=dict(type='Pretrained', checkpoint=path)).init_weights()
    assert 'stem.weight has shape (96, 3, 7, 7) in the file but (64, 3, 7, 7) in the model' in str(err.value)
    assert '\n' not in str(err.value)


def test_truncated_file_is_refused(tmp_path):
    path = tmp_path / 'cut.pth'
    rw.official_imagenet_file(rw.randomised_reference('s12'), str(path))
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match=rf'checkpoint {path} is truncated or not a torch file'):
        PoolFormer(arch='s12', init_cfg=dict(type='Pretrained', checkpoint=str(path))).init_weights()
    with pytest.raises(CheckpointError, match=r'does not exist'):
        PoolFormer(arch='s12', init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'nope.pth'))).init_weights()


class RunsCode:
    """Unpickling this would create a marker file: a stand-in for a malicious checkpoint."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def test_file_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / 'code_ran'
    path = tmp_path / 'evil.pth'
    ref = rw.randomised_reference('s12')
    state = {k: v for k, v in rw.backbone_state(ref).items()}
    torch.save({'state_dict': state, 'payload': RunsCode(str(marker))}, str(path))
    assert not marker.exists()
    with pytest.raises(CheckpointError, match=r'unpickling it could run code.*trusted=True'):
        PoolFormer(arch='s12', init_cfg=dict(type='Pretrained', checkpoint=str(path))).init_weights()
    assert not marker.exists(), 'the refused file ran code'


def test_offline_url_fails_fast_with_instructions(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    url = 'http://127.0.0.1:9/poolformer_s12.pth.tar'  # discard port: connection refused at once
    with pytest.raises(CheckpointError) as err:
        PoolFormer(arch='s12', init_cfg=dict(type='Pretrained', checkpoint=url)).init_weights()
    msg = str(err.value)
    assert f'could not download {url}' in msg and 'init_cfg=None' in msg
    assert os.path.join(str(tmp_path), 'hub', 'checkpoints', 'poolformer_s12.pth.tar') in msg
    assert not any(p.name.startswith('.download') for p in (tmp_path / 'hub' / 'checkpoints').iterdir())


@pytest.mark.parametrize('out_indices', [(0, 1, 2, 3), (1, 2, 3)])
def test_backward_reaches_every_trainable_parameter(out_indices):
    model = PoolFormer(arch='s12', out_indices=out_indices, drop_path_rate=0.1).train()
    outs = model(torch.randn(2, 3, 64, 96))
    assert len(outs) == len(out_indices)
    sum((o * torch.randn_like(o)).sum() for o in outs).backward()
    without_grad = [n for n, p in model.named_parameters() if p.requires_grad and (p.grad is None or
                                                                                     not p.grad.abs().sum() > 0)]
    assert without_grad == []
    assert sorted(model.out_norms.keys()) == sorted(str(i) for i in out_indices)


def expected_frozen(name, frozen_stages):
    if frozen_stages < 0:
        return False
    if name.startswith('stem.'):
        return True
    for i in range(frozen_stages):
        if name.startswith((f'stages.{i}.', f'out_norms.{i}.')):
            return True
    return False


@pytest.mark.parametrize('frozen_stages', [-1, 0, 1, 3])
def test_frozen_stages(frozen_stages):
    model = PoolFormer(arch='s12', frozen_stages=frozen_stages)
    model.train()
    for name, param in model.named_parameters():
        assert param.requires_grad == (not expected_frozen(name, frozen_stages)), name
    for name, module in model.named_modules():
        if name and expected_frozen(name + '.', frozen_stages) and name.startswith(('stem', 'stages', 'out_norms')):
            assert not module.training, name
    n_frozen = sum(not p.requires_grad for p in model.parameters())
    # tensors per block: norm1/norm2/fc1/fc2 weight+bias and two layer scales = 10; downsample conv = 2; norm = 2
    depths = ARCH_SETTINGS['s12']['depths']
    expected = 0 if frozen_stages < 0 else 2 + sum(10 * depths[i] + (2 if i else 0) + 2 for i in range(frozen_stages))
    assert n_frozen == expected
    sum(o.sum() for o in model(torch.randn(1, 3, 64, 64))).backward()
    assert all(p.grad is None for p in model.parameters() if not p.requires_grad)


def test_norm_eval_keeps_batchnorm_in_eval():
    model = PoolFormer(arch='s12', norm_cfg=dict(type='BN'), norm_eval=True).train()
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and all(not m.training for m in bns)
    assert PoolFormer(arch='s12', norm_cfg=dict(type='BN')).train().out_norms['0'].training


@pytest.mark.parametrize('registry_module', ['mmdet.registry', 'mmseg.registry', 'mmpretrain.registry'])
def test_builds_from_other_toolboxes_after_custom_imports(registry_module, tmp_path):
    import importlib

    from mmengine.utils import import_modules_from_strings
    cfg_file = tmp_path / 'cfg.py'
    cfg_file.write_text("custom_imports = dict(imports=['mmpoolformer'], allow_failed_imports=False)\n"
                        "backbone = dict(type='mmpoolformer.PoolFormer', arch='s12', out_indices=(1, 2, 3))\n")
    cfg = Config.fromfile(str(cfg_file))
    import_modules_from_strings(**cfg.custom_imports)
    registry = importlib.import_module(registry_module).MODELS
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope(registry.scope):  # as inside that toolbox's Runner
        model = registry.build(cfg.backbone)
    assert isinstance(model, PoolFormer)
    assert [o.shape[1] for o in model(torch.randn(1, 3, 64, 64))] == [128, 320, 512]


def test_hybrid_metaformer_with_attention_runs_at_any_size():
    mixers = [dict(type='Pooling', pool_size=3)] * 2 + [dict(type='Attention', head_dim=32)] * 2
    model = MetaFormer(arch='s12', token_mixers=mixers).train()
    outs = model(torch.randn(2, 3, 200, 300))
    assert [tuple(o.shape) for o in outs] == [(2, c, *stage_shape(200, 300, i))
                                              for i, c in enumerate([64, 128, 320, 512])]
    sum(o.square().mean() for o in outs).backward()
    assert model.stages[3].blocks[0].token_mixer.qkv.weight.grad.abs().sum() > 0
    assert model.stages[2].blocks[0].token_mixer.num_heads == 10


def test_user_registered_token_mixer_from_own_file(tmp_path, monkeypatch):
    (tmp_path / 'my_mixers.py').write_text(textwrap.dedent('''
        import torch.nn as nn
        from mmpoolformer.registry import MODELS

        @MODELS.register_module()
        class HalfMixer(nn.Module):
            def __init__(self, dim):
                super().__init__()
                self.scale = nn.Parameter(nn.init.constant_(__import__('torch').empty(dim), 0.5))

            def forward(self, x):
                return x * self.scale[:, None, None]
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg_file = tmp_path / 'cfg.py'
    cfg_file.write_text("custom_imports = dict(imports=['my_mixers'])\n"
                        "model = dict(type='mmpoolformer.MetaFormer', arch='s12', "
                        "token_mixers=dict(type='HalfMixer'))\n")
    cfg = Config.fromfile(str(cfg_file))
    from mmdet.registry import MODELS
    from mmengine.registry import DefaultScope
    from mmengine.utils import import_modules_from_strings
    import_modules_from_strings(**cfg.custom_imports)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    assert 'stages.0.blocks.0.token_mixer.scale' in model.state_dict()
    assert len(model(torch.randn(1, 3, 64, 64))) == 4


PAPER_PARAMS_M = {'s12': 11.92, 's24': 21.39, 's36': 30.86, 'm36': 56.17, 'm48': 73.47}


@pytest.mark.parametrize('arch', sorted(PAPER_PARAMS_M))
def test_parameter_count_equals_paper(arch):
    # The last stage's output norm plays the classifier's final norm; add the 1000-way linear head.
    backbone = PoolFormer(arch=arch, out_indices=(3,))
    dim = ARCH_SETTINGS[arch]['embed_dims'][-1]
    total = sum(p.numel() for p in backbone.parameters()) + dim * 1000 + 1000
    assert round(total / 1e6, 2) == PAPER_PARAMS_M[arch]


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(IndexError, match=r'out_indices=\(1, 4\) is out of range: .* indices 0..3'):
        PoolFormer(out_indices=(1, 4))
    with pytest.raises(ValueError, match=r'pool_size=4 is invalid: .*odd pool_size'):
        PoolFormer(pool_size=4)
    with pytest.raises(KeyError, match=r"arch='s13' is unknown"):
        PoolFormer(arch='s13')
    assert PoolFormer(out_indices=(-1,)).out_indices == (3,)


@pytest.mark.parametrize('fmt', ['official_detector', 'timm', 'mmpretrain'])
def test_convert_checkpoint_tool_writes_our_layout(fmt, image, tmp_path):
    from tests.helpers import run_tool
    ref = rw.randomised_reference('s12')
    src, dst = tmp_path / f'{fmt}.pth', tmp_path / 'converted.pth'
    WRITERS[fmt](ref, str(src))
    proc = run_tool('tools/convert_checkpoint.py', src, dst)
    assert 'arch s12' in proc.stdout
    converted = torch.load(dst, weights_only=True)
    state = converted['state_dict']
    if fmt == 'official_detector':  # the rest of the detector is kept, the backbone renamed under backbone.
        assert 'neck.lateral_convs.0.conv.weight' in state and 'backbone.stem.weight' in state
    else:  # classifier dropped, plain backbone names
        assert 'stem.weight' in state and not any(k.startswith(('head', 'norm.')) for k in state)
    model = PoolFormer(arch='s12', init_cfg=dict(type='Pretrained', checkpoint=str(dst)))
    model.init_weights()
    expected = ref
    if fmt == 'timm':
        expected = rw.randomised_reference('s12')
        rw.reset_out_norms(expected)
    assert_close(our_features(model, image), reference_features(expected, image))


def test_mmcv_wheel_cache_key_separates_torch_builds():
    from tools.mmcv_wheel_key import current_key, wheel_key
    key = wheel_key('2.1.0', python=(3, 11), torch_version='2.14.1+cu130')
    assert key == 'py3.11-torch2.14.1+cu130-mmcv2.1.0-cpuops'
    others = {wheel_key('2.1.0', python=(3, 11), torch_version='2.14.1+cpu'),
              wheel_key('2.1.0', python=(3, 11), torch_version='2.13.0+cu130'),
              wheel_key('2.1.0', python=(3, 12), torch_version='2.14.1+cu130'),
              wheel_key('2.1.0', python=(3, 11), torch_version='2.14.1+cu130', cuda='13.0')}
    assert key not in others and len(others) == 4
    assert torch.__version__ in current_key('2.1.0')
