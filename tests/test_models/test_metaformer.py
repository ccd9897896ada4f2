"""The MetaFormer / PoolFormer backbone as a module: gradients, freezing, norm_eval, registries, user mixers, any
input size, Params against the paper, deploy folding, argument errors."""
import re
import textwrap

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from mmpoolformer import MetaFormer, PoolFormer
from mmpoolformer.errors import ConfigError
from mmpoolformer.models.arch_settings import ARCH_SETTINGS
from tests.helpers import TINY_ARCH, randomise, scaled_diff, stage_shape


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
    cases = [(dict(out_indices=(1, 4)), 'out_indices=(1, 4) is out of range: the backbone has 4 stages, so use '
                                        'indices 0..3 (or -4..-1)'),
             (dict(pool_size=4), 'pool_size=4 is invalid: PoolFormer pooling keeps the feature size only for an odd '
                                 'pool_size (e.g. 3, 5 or 7)'),
             (dict(arch='s13'), "arch='s13' is unknown for PoolFormer; choose one of ['m36', 'm48', 's12', 's24', "
                                "'s36'] or pass a dict with depths and embed_dims")]
    bad_scale = dict(depths=[1, 1], embed_dims=[8, 16], layer_scale_init_value=(1e-5, 0.1, 1.))
    cases.append((dict(arch=bad_scale), 'arch layer_scale_init_value=(1e-05, 0.1, 1.0) is invalid; give one number '
                                        'for both branches, a pair (mixer, mlp) such as (1e-5, 0.1), or None for no '
                                        'layer scale'))
    for kwargs, message in cases:
        with pytest.raises(ConfigError, match=f'^{re.escape(message)}$'):
            PoolFormer(**kwargs)
    assert PoolFormer(out_indices=(-1,)).out_indices == (3,)


@pytest.mark.parametrize('value,mixer,mlp', [(0.1, 0.1, 0.1), ((1e-5, 0.1), 1e-5, 0.1), ([0.5, 2], 0.5, 2.)])
def test_layer_scales_start_at_one_value_or_a_mixer_mlp_pair(value, mixer, mlp):
    """layer_scale_init_value: one value for both branches of every block, or (mixer, mlp); the scales then train
    like any other parameter, and the block computes x + mixer_scale * mixer(norm(x)), then the MLP branch."""
    model = PoolFormer(arch=dict(depths=[1, 2], embed_dims=[8, 16], layer_scale_init_value=value), out_indices=(1,))
    blocks = [block for stage in model.stages for block in stage.blocks]
    assert len(blocks) == 3
    for block in blocks:
        assert torch.equal(block.layer_scale1, torch.full_like(block.layer_scale1, mixer))
        assert torch.equal(block.layer_scale2, torch.full_like(block.layer_scale2, mlp))
    block = blocks[0].eval()
    x = torch.randn(2, 8, 6, 5)
    after_mixer = x + mixer * (F.avg_pool2d(block.norm1(x), 3, 1, 1, count_include_pad=False) - block.norm1(x))
    expected = after_mixer + mlp * block.mlp(block.norm2(after_mixer))
    torch.testing.assert_close(block(x), expected, rtol=1e-5, atol=1e-6)


FOLD_CASES = {
    'pool-gn': dict(token_mixers=dict(type='Pooling', pool_size=3)),
    'pool5-ln': dict(token_mixers=dict(type='Pooling', pool_size=5), norm_cfg=dict(type='LayerNorm2d')),
    'pool-bn': dict(token_mixers=dict(type='Pooling'), norm_cfg=dict(type='BN')),
    'pool-nonorm': dict(token_mixers=dict(type='Pooling'), norm_cfg=None),
    'identity-gn': dict(token_mixers=dict(type='Identity')),
    'identity-bn': dict(token_mixers=dict(type='Identity'), norm_cfg=dict(type='BN')),
    'dwconv-gn': dict(token_mixers=dict(type='DepthwiseConv', kernel_size=3)),
    'hybrid-attention-gn': dict(token_mixers=[dict(type='Pooling')] * 2 + [dict(type='Attention', head_dim=8)] * 2),
    'hybrid-attention-ln': dict(token_mixers=[dict(type='Pooling')] * 2 + [dict(type='Attention', head_dim=8,
                                                                                      proj_bias=True)] * 2,
                                norm_cfg=dict(type='LayerNorm2d')),
}


# what remains of the per-channel affine terms after folding, per block (None: nothing of that name remains)
EXPECTED_LEFT = {
    'pool-gn': {'norm1.weight': False, 'norm2.weight': False, 'layer_scale1': True, 'layer_scale2': False},
    'identity-gn': {'norm1.weight': True, 'norm2.weight': False, 'layer_scale1': False, 'layer_scale2': False},
    'dwconv-gn': {'norm1.weight': True, 'norm2.weight': False, 'layer_scale1': False, 'layer_scale2': False},
    'hybrid-attention-gn': {'norm1.weight': False, 'norm2.weight': False, 'layer_scale2': False},
}


@pytest.mark.parametrize('case', sorted(FOLD_CASES))
def test_deploy_folding_equals_unfolded_and_reloads(case):
    model = randomise(MetaFormer(arch=TINY_ARCH, **FOLD_CASES[case]))
    x = torch.randn(2, 3, 61, 83)
    with torch.no_grad():
        expected = model(x)
        unfolded = model.switch_to_deploy()
        folded = model(x)
    assert unfolded == []
    assert scaled_diff(folded, expected) <= 1e-5
    # the folded state dict loads (strictly) into a model built in deploy form, and gives the same outputs
    state = model.state_dict()
    rebuilt = MetaFormer(arch=TINY_ARCH, deploy=True, **FOLD_CASES[case])
    rebuilt.load_state_dict(state, strict=True)
    with torch.no_grad():
        assert scaled_diff(rebuilt.eval()(x), expected) <= 1e-5
    for name, present in EXPECTED_LEFT.get(case, {}).items():
        assert (f'stages.3.blocks.0.{name}' in state) == present, name


def test_deploy_folding_removes_tensors_and_passes():
    model = randomise(PoolFormer(arch=TINY_ARCH))
    before = set(model.state_dict())
    model.switch_to_deploy()
    removed = before - set(model.state_dict())
    assert removed == {f'stages.{i}.blocks.{j}.{name}' for i, d in enumerate(TINY_ARCH['depths']) for j in range(d)
                       for name in ('norm1.weight', 'norm1.bias', 'norm2.weight', 'norm2.bias', 'layer_scale2')}


def test_mlp_runs_as_matrix_products_under_cpu_autocast_with_channels_last():
    """Under bf16 autocast with a channels_last input the channel MLP uses matrix products over the NHWC view: the
    same function (forward and gradients within bf16 accuracy of fp32), channels_last output, no copy of the input;
    in fp32 or with an NCHW input it stays the 1x1-convolution path, bit-equal to the plain convolutions."""
    from mmpoolformer.models.metaformer import ConvMlp
    from mmpoolformer.models.pointwise import pointwise_as_matmul
    torch.manual_seed(0)
    mlp = ConvMlp(32, 128, dict(type='GELU'))
    x = torch.randn(2, 32, 12, 20).contiguous(memory_format=torch.channels_last)
    reference = mlp.fc2(mlp.act(mlp.fc1(x)))
    assert torch.equal(mlp(x), reference)
    assert torch.equal(mlp(x.contiguous()), mlp.fc2(mlp.act(mlp.fc1(x.contiguous()))))
    assert not pointwise_as_matmul(x)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert pointwise_as_matmul(x) and not pointwise_as_matmul(x.contiguous())
        x_bf16 = x.detach().clone().requires_grad_()
        out = mlp(x_bf16)
    assert out.shape == reference.shape and out.is_contiguous(memory_format=torch.channels_last)
    assert ((out.float() - reference).norm() / reference.norm()).item() < 2e-2
    out.float().square().sum().backward()
    grad_bf16 = mlp.fc1.weight.grad.clone()
    mlp.zero_grad()
    x_fp32 = x.detach().clone().requires_grad_()
    mlp(x_fp32).square().sum().backward()
    assert ((grad_bf16 - mlp.fc1.weight.grad).norm() / mlp.fc1.weight.grad.norm()).item() < 3e-2
    assert ((x_bf16.grad - x_fp32.grad).norm() / x_fp32.grad.norm()).item() < 3e-2


@pytest.mark.parametrize('size', [(64, 64), (75, 101)])
def test_feature_info_and_token_grids_state_what_the_forward_returns(size):
    """The backbone states its pyramid once: ``feature_info`` channels and strides, ``token_grids`` the output sizes,
    both equal to what a forward pass returns (odd sizes too)."""
    from mmpoolformer.models.metaformer import stage_strides
    model = MetaFormer(arch=TINY_ARCH).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, *size))
    assert [info['num_chs'] for info in model.feature_info] == [out.shape[1] for out in outs]
    assert model.token_grids(size) == [tuple(out.shape[-2:]) for out in outs]
    assert [info['reduction'] for info in model.feature_info] == stage_strides() == [4, 8, 16, 32]
    assert [info['module'] for info in model.feature_info] == [f'stages.{i}' for i in range(4)]
    if size == (64, 64):
        assert [size[0] // out.shape[-1] for out in outs] == stage_strides()


def test_a_model_zoo_pretrained_handed_down_by_a_segmentor_is_one_line(tmp_path):
    """MMSegmentation's bases set model.pretrained (e.g. open-mmlab://resnet50_v1c) and EncoderDecoder hands it to
    the backbone: swapping in PoolFormer without clearing it names the key to clear."""
    from mmseg.registry import MODELS
    config = tmp_path / 'fpn.py'
    config.write_text("_base_ = ['mmseg::sem_fpn/fpn_r50_4xb4-160k_ade20k-512x512.py']\n"
                      "custom_imports = dict(imports=['mmpoolformer'], allow_failed_imports=False)\n"
                      "model = dict({pretrained}backbone=dict(_delete_=True, type='mmpoolformer.PoolFormer', "
                      "arch='s12'{init}),\n"
                      "             neck=dict(in_channels=[64, 128, 320, 512]))\n")
    text = config.read_text()
    config.write_text(text.format(pretrained='', init=''))
    with pytest.raises(ConfigError) as raised:
        MODELS.build(Config.fromfile(str(config)).model)
    assert str(raised.value) == (
        "pretrained='open-mmlab://resnet50_v1c' reached the backbone: that names weights of another backbone (MMCV's "
        "model zoo), most likely the model.pretrained of the config's base, which a segmentor hands to its backbone; "
        "set model.pretrained=None and give the backbone's weights in backbone.init_cfg")
    config.write_text(text.format(pretrained="pretrained='s12.pth', ",
                                  init=", init_cfg=dict(type='Pretrained', checkpoint='s12.pth')"))
    with pytest.raises(ConfigError, match=r'^pass either pretrained or init_cfg to the backbone, not both \(a '
                                          r'segmentor hands its model.pretrained to the backbone: set '
                                          r'model.pretrained=None\)$'):
        MODELS.build(Config.fromfile(str(config)).model)
