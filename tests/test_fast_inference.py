"""Deploy folding, the fast inference path (compile, channels_last, bf16) and the benchmark tool, on tiny models."""
import copy
import json
import re
import sys

import pytest
import torch

from mmpoolformer import MetaFormer, PoolFormer
from mmpoolformer.engine import fast_inference as fi
from tests.helpers import ROOT, run_tool

TINY_ARCH = dict(depths=[1, 1, 2, 1], embed_dims=[16, 24, 32, 40], layer_scale_init_value=0.5)


def randomise(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Perturb every parameter and BN statistic so that a folding mistake cannot hide behind 1s and 0s."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for _, param in model.named_parameters():
            param.add_(0.3 * torch.randn_like(param))
        for name, buf in model.named_buffers():
            if name.endswith('running_var'):
                buf.uniform_(0.5, 2.)
            elif name.endswith('running_mean'):
                buf.normal_()
    return model.eval()


def max_diff(a, b) -> float:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.shape == y.shape
    return max((x - y).abs().max().item() for x, y in zip(a, b))


def scaled_diff(a, b) -> float:
    """max |diff| over max(1, max |b|): absolute for normalised outputs, relative where BN or no norm lets the
    randomised model's activations grow into the thousands."""
    return max_diff(a, b) / max(1., max(y.abs().max().item() for y in b))


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


def test_folded_checkpoint_through_reparameterize_tool(tmp_path):
    """tools/reparameterize_model.py writes a file that tools can load into the deploy form of the config."""
    from mmengine.config import Config

    from mmpoolformer.apis import init_model
    config = tmp_path / 'fpn_tiny.py'
    config.write_text(TINY_FPN.format(root=ROOT))
    model, _ = init_model(str(config), fast={})
    randomise(model.backbone)
    ckpt = tmp_path / 'model.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
    out = tmp_path / 'deploy.pth'
    proc = run_tool('tools/reparameterize_model.py', config, ckpt, out)
    assert 'backbone folded completely' in proc.stdout
    cfg = Config.fromfile(str(config))
    cfg.model.backbone.deploy = True
    deploy_config = tmp_path / 'fpn_tiny_deploy.py'
    cfg.dump(str(deploy_config))
    folded, _ = init_model(str(deploy_config), str(out), fast={})
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        assert max_diff([folded._forward(x)], [model._forward(x)]) <= 1e-5


# ------------------------------------------------------------------------------------------------ fast path

TINY_RETINANET = """_base_ = ['{root}/configs/retinanet_poolformer_s12_fpn_coco.py']
model = dict(
    backbone=dict(init_cfg=None, arch=dict(_delete_=True, depths=[1, 1, 1, 1], embed_dims=[8, 16, 24, 32],
                                           layer_scale_init_value=0.5)),
    neck=dict(in_channels=[16, 24, 32], out_channels=16),
    bbox_head=dict(num_classes=3, in_channels=16, feat_channels=16, stacked_convs=1))
"""

TINY_FPN = """_base_ = ['{root}/configs/fpn_poolformer_s12_ade20k_40k.py']
model = dict(
    backbone=dict(init_cfg=None, arch=dict(_delete_=True, depths=[1, 1, 1, 1], embed_dims=[8, 16, 24, 32],
                                           layer_scale_init_value=0.5)),
    neck=dict(in_channels=[8, 16, 24, 32], out_channels=16),
    decode_head=dict(in_channels=[16, 16, 16, 16], channels=16, num_classes=5))
"""


def tiny_model(tmp_path, text):
    from mmpoolformer.apis import init_model
    config = tmp_path / 'tiny.py'
    config.write_text(text.format(root=ROOT))
    model, _ = init_model(str(config), fast={})
    randomise(model.backbone)
    return model


def test_compiled_backbone_equals_eager_over_twenty_sizes_with_two_compilations():
    """Static graph for the first size; the second size recompiles with dynamic H/W, which then serves the other
    18 sizes (multiples of 32, as mmdet's and mmseg's preprocessors pad them): 2 compilations, not 20.

    S12's widths with one block per stage, so every convolution input has more than 20480 elements from 224 px
    on, as at detection sizes (below that, torch picks another convolution backend, which is one more graph)."""
    eager = randomise(PoolFormer(arch=dict(depths=[1, 1, 1, 1], embed_dims=[64, 128, 320, 512])))
    model = copy.deepcopy(eager)
    report = fi.accelerate(model, compile=True)
    assert report['deploy'] and list(report['compiled']) == ['PoolFormer']
    sizes = [(224 + 32 * (i % 5), 224 + 32 * (i // 5)) for i in range(20)]
    assert len(set(sizes)) == 20
    for h, w in sizes:
        x = torch.randn(1, 3, h, w)
        with torch.no_grad():
            assert max_diff(model(x), eager(x)) <= 1e-4, (h, w)
    assert report['compiled']['PoolFormer'].compilations == 2


@pytest.mark.parametrize('kind', ['retinanet', 'fpn'])
def test_compiled_whole_model_equals_eager_at_two_sizes(kind, tmp_path):
    """Backbone, neck and dense head compiled with dynamic height/width from the first call (one graph per part
    serves both sizes; it keeps the test short); the head's raw outputs match eager fp32 at two input sizes."""
    eager = tiny_model(tmp_path, TINY_RETINANET if kind == 'retinanet' else TINY_FPN)
    fast = copy.deepcopy(eager)
    report = fi.accelerate(fast, compile=True, dynamic=True)
    head = 'bbox_head' if kind == 'retinanet' else 'decode_head'
    assert set(report['compiled']) == {'backbone', 'neck', head}
    for shape in ((96, 128), (128, 96)):
        x = torch.randn(2, 3, *shape)
        with torch.no_grad():
            expected, got = flatten(eager._forward(x)), flatten(fast._forward(x))
        assert max_diff(got, expected) <= 1e-4, shape
    assert {name: c.compilations for name, c in report['compiled'].items()} == {name: 1 for name in report['compiled']}


def flatten(out):
    if torch.is_tensor(out):
        return [out]
    return [t for o in out for t in flatten(o)]


def test_bf16_autocast_close_to_fp32():
    """bf16 runs (emulated where the CPU lacks bf16 instructions, so check_support=False) and returns fp32 tensors
    within bf16 accuracy of the fp32 model."""
    eager = randomise(PoolFormer(arch=TINY_ARCH))
    fast = copy.deepcopy(eager)
    fi.accelerate(fast, compile=False, dtype='bf16', check_support=False)
    x = torch.randn(2, 3, 64, 96)
    with torch.no_grad():
        expected, got = eager(x), fast(x)
    for a, b in zip(got, expected):
        assert a.dtype == torch.float32
        assert ((a - b).norm() / b.norm()).item() < 2e-2


def test_bf16_refused_on_a_cpu_without_bf16(monkeypatch):
    monkeypatch.setattr(fi, 'cpu_has_bf16', lambda: False)
    with pytest.raises(fi.FastInferenceError) as err:
        fi.accelerate(PoolFormer(arch=TINY_ARCH), compile=False, dtype='bf16')
    assert str(err.value) == (
        'bf16 needs a CPU with bf16 instructions (avx512_bf16 or AMX) and this one has none '
        '(torch.ops.mkldnn._is_mkldnn_bf16_supported() is False); drop --bf16 / dtype, the fp32 fast path '
        '(--compile) works here')
    with pytest.raises(fi.FastInferenceError, match='^fp16 autocast is for CUDA GPUs; on CPU use bf16'):
        fi.accelerate(PoolFormer(arch=TINY_ARCH), compile=False, dtype='fp16')


@pytest.fixture
def demo_inputs(tmp_path):
    """(config, checkpoint, image) of a tiny random RetinaNet, for tools/demo.py."""
    import mmcv
    import numpy as np
    config = tmp_path / 'tiny.py'
    config.write_text(TINY_RETINANET.format(root=ROOT))
    ckpt = tmp_path / 'tiny.pth'
    torch.save(dict(state_dict=tiny_model(tmp_path, TINY_RETINANET).state_dict()), ckpt)
    image = str(tmp_path / 'img.png')
    mmcv.imwrite(np.zeros((40, 50, 3), np.uint8), image)
    return config, ckpt, image


def test_tools_refuse_bf16_without_cpu_support_in_one_line(monkeypatch, capsys, tmp_path, demo_inputs):
    """tools/demo.py --bf16 on a CPU without bf16: one line, exit code 2 (run in-process to stand in such a CPU)."""
    from tools import demo
    monkeypatch.setattr(fi, 'cpu_has_bf16', lambda: False)
    config, ckpt, image = demo_inputs
    monkeypatch.setattr(sys, 'argv', ['demo.py', image, str(config), str(ckpt), '--out', str(tmp_path / 'o.png'),
                                      '--bf16'])
    with pytest.raises(SystemExit) as exit_info:
        demo.run_cli(demo.main)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ['error: bf16 needs a CPU with bf16 instructions (avx512_bf16 or AMX) and this one has none '
                   '(torch.ops.mkldnn._is_mkldnn_bf16_supported() is False); drop --bf16 / dtype, the fp32 fast '
                   'path (--compile) works here']


def test_compile_without_a_cpp_compiler_is_one_line(tmp_path, demo_inputs):
    config, ckpt, image = demo_inputs
    proc = run_tool('tools/demo.py', image, config, ckpt, '--out', tmp_path / 'o.png', '--compile',
                    env=dict(CXX='/no/such/g++'), check=False)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1] == (
        "error: torch.compile on CPU needs a C++ compiler and '/no/such/g++' does not run; install one (e.g. "
        "apt-get install g++) or set CXX, or drop --compile")


# ------------------------------------------------------------------------------------------------ benchmark

OFFICIAL_STAND_IN = '''"""Stand-in for the official models/poolformer.py: its constructor and key names, mmpretrain's
computation."""
import torch
from mmpretrain.models.backbones import PoolFormer as _MMPretrainPoolFormer


class PoolFormer(_MMPretrainPoolFormer):
    def __init__(self, layers, embed_dims=None, mlp_ratios=None, downsamples=None, fork_feat=False,
                 layer_scale_init_value=1e-5, **kwargs):
        assert fork_feat and all(downsamples)
        super().__init__(arch=dict(layers=layers, embed_dims=embed_dims, mlp_ratios=mlp_ratios,
                                   layer_scale_init_value=layer_scale_init_value), out_indices=(0, 2, 4, 6))

    def forward(self, x):
        return [y + {offset} for y in super().forward(x)]
'''


def test_benchmark_smoke_lists_every_peer_and_checks_outputs(tmp_path):
    official = tmp_path / 'poolformer.py'
    official.write_text(OFFICIAL_STAND_IN.format(offset=0))
    out = tmp_path / 'bench.json'
    proc = run_tool('tools/analysis/benchmark.py', 'backbone', '--smoke', '--official-src', official, '--out', out,
                    '--plot', tmp_path / 'scaling.png')
    result = json.loads(out.read_text())
    names = [r['name'] for r in result['rows']]
    assert names[:3] == ['mmpretrain eager fp32', 'timm eager fp32', 'official eager fp32']
    assert {'ours eager fp32', 'ours deploy fp32', 'ours fast fp32'} <= set(names)
    for peer in ('mmpretrain', 'timm', 'official'):
        assert f'check {peer}: max |diff| against ours' in proc.stdout
    summary = proc.stdout.strip().splitlines()
    summary = [line for line in summary if line.startswith('summary: ')]
    assert len(summary) == 1
    assert re.fullmatch(r'summary: best peer fp32 [\d.]+ ms \((mmpretrain|timm|official)\); fast fp32 [\d.]+ ms '
                        r'\([\d.]+x\); fast bf16 (n/a|[\d.]+ ms \([\d.]+x\))', summary[0]), summary[0]
    assert ('fast bf16 n/a' in summary[0]) == (not fi.cpu_has_bf16())
    assert (tmp_path / 'scaling.png').stat().st_size > 1000
    assert set(result['scaling']) == {'PoolFormer (pooling in every stage)',
                                      'hybrid MetaFormer (attention in stages 3-4)'}


def test_benchmark_without_official_source_says_why(tmp_path):
    proc = run_tool('tools/analysis/benchmark.py', 'backbone', '--smoke')
    assert ('official                       skipped: not available: pass --official-src PATH/TO/poolformer.py (the '
            'official definition is not on PyPI)') in proc.stdout


def test_benchmark_refuses_to_time_models_that_differ(tmp_path):
    official = tmp_path / 'poolformer.py'
    official.write_text(OFFICIAL_STAND_IN.format(offset=0.01))
    proc = run_tool('tools/analysis/benchmark.py', 'backbone', '--smoke', '--official-src', official, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith('error: official outputs differ from ours by 0.01')
    assert 'median ms' not in proc.stdout  # nothing was timed


def test_benchmark_model_and_train_modes_smoke(tmp_path):
    config = tmp_path / 'tiny.py'
    config.write_text(TINY_RETINANET.format(root=ROOT))
    proc = run_tool('tools/analysis/benchmark.py', 'model', config, '--smoke')
    assert 'check fast fp32: max |diff| of the network outputs against eager fp32' in proc.stdout
    assert 'summary: eager fp32' in proc.stdout
    proc = run_tool('tools/analysis/benchmark.py', 'train', '--smoke', '--arch', 's12')
    assert 'check mmpretrain: loss relative diff' in proc.stdout
    assert 'summary: best peer fp32' in proc.stdout


LOOP_CONFIG = """_base_ = ['{root}/configs/quickstart/retinanet_poolformer_s12_demo.py']
demo_data = None
model = dict(backbone=dict(arch=dict(depths=[1, 1, 1, 1], embed_dims=[16, 24, 32, 40], layer_scale_init_value=0.1)),
             neck=dict(in_channels=[24, 32, 40]))
train_dataloader = dict(batch_size=2, dataset=dict(data_root='{data}/'))
val_dataloader = dict(dataset=dict(data_root='{data}/'))
val_evaluator = dict(ann_file='{data}/annotations/instances_val2017.json')
"""


def test_benchmark_loop_mode_compares_the_training_losses_of_amp_with_fp32(tmp_path):
    """The config's own training loop through tools/train.py, fp32 and --amp from the same seed: per-iteration
    losses of both and the summary line; where the CPU has no bf16, the --amp run's one-line refusal."""
    from mmpoolformer.demo_data import make_demo_data
    make_demo_data(str(tmp_path / 'data'), seed=5, num_train=4, num_val=2, size=64)
    config = tmp_path / 'loop.py'
    config.write_text(LOOP_CONFIG.format(root=ROOT, data=tmp_path / 'data' / 'coco'))
    out = tmp_path / 'loop.json'
    proc = run_tool('tools/analysis/benchmark.py', 'loop', config, '--iters', '2', '--out', out, check=False)
    if not fi.cpu_has_bf16():
        assert proc.returncode == 2, proc.stderr[-2000:]
        assert proc.stderr.strip().splitlines()[-1].startswith(
            'error: the amp run stopped: error: bf16 needs a CPU with bf16 instructions')
        return
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    fp32, amp = result['runs']['fp32'], result['runs']['amp']
    assert len(fp32['losses']) == len(amp['losses']) == 2
    assert fp32['losses'] != amp['losses']  # bf16 really ran
    assert amp['max_relative_loss_diff'] == max(abs(a - f) / abs(f) for a, f in zip(amp['losses'], fp32['losses']))
    assert amp['max_relative_loss_diff'] < 0.05
    assert re.search(r'^summary: fp32 [\d.]+ s/iter; amp [\d.]+ s/iter \([\d.]+x, loss max relative diff '
                     r'[\d.]+%\)$', proc.stdout, re.M), proc.stdout[-2000:]


# ------------------------------------------------------------------------------------------------ training

def test_autocast_optim_wrapper_runs_the_forward_in_bf16_and_keeps_fp32_weights():
    from mmpoolformer.engine import AutocastOptimWrapper
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.GELU(), torch.nn.Conv2d(4, 2, 1))
    wrapper = AutocastOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    before = model[0].weight.detach().clone()
    with wrapper.optim_context(model):
        out = model(torch.randn(2, 3, 8, 8))
    assert out.dtype == torch.bfloat16
    wrapper.update_params(out.float().square().mean())
    assert model[0].weight.dtype == torch.float32 and not torch.equal(model[0].weight, before)


def test_train_amp_on_cpu(monkeypatch, capsys):
    """--amp on CPU: mmpoolformer's bf16 AutocastOptimWrapper where the CPU has bf16, one line where it has not."""
    from mmengine.config import Config

    from tools import train
    cfg = Config(dict(optim_wrapper=dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1))))
    monkeypatch.setattr(fi, 'cpu_has_bf16', lambda: True)
    if not torch.cuda.is_available():
        train.set_mixed_precision(cfg)
        assert cfg.optim_wrapper.type == 'mmpoolformer.AutocastOptimWrapper'
        assert cfg.optim_wrapper.dtype == 'bfloat16'
        monkeypatch.setattr(fi, 'cpu_has_bf16', lambda: False)
        config = f'{ROOT}/configs/quickstart/retinanet_poolformer_s12_demo.py'
        monkeypatch.setattr(sys, 'argv', ['train.py', config, '--amp', '--cfg-options', 'demo_data=None'])
        with pytest.raises(SystemExit) as exit_info:
            train.run_cli(train.main)
        assert exit_info.value.code == 2
        assert capsys.readouterr().err.strip().splitlines()[-1].startswith(
            'error: bf16 needs a CPU with bf16 instructions (avx512_bf16 or AMX) and this one has none')


def test_mlp_runs_as_matrix_products_under_cpu_autocast_with_channels_last():
    """Under bf16 autocast with a channels_last input the channel MLP uses matrix products over the NHWC view: the
    same function (forward and gradients within bf16 accuracy of fp32), channels_last output, no copy of the input;
    in fp32 or with an NCHW input it stays the 1x1-convolution path, bit-equal to the plain convolutions."""
    from mmpoolformer.models.metaformer import ConvMlp
    torch.manual_seed(0)
    mlp = ConvMlp(32, 128, dict(type='GELU'))
    x = torch.randn(2, 32, 12, 20).contiguous(memory_format=torch.channels_last)
    reference = mlp.fc2(mlp.act(mlp.fc1(x)))
    assert torch.equal(mlp(x), reference)
    assert torch.equal(mlp(x.contiguous()), mlp.fc2(mlp.act(mlp.fc1(x.contiguous()))))
    assert not ConvMlp._as_matmul(x)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert ConvMlp._as_matmul(x) and not ConvMlp._as_matmul(x.contiguous())
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


@pytest.mark.parametrize('fp32_norms', [True, False])
def test_autocast_optim_wrapper_normalises_in_fp32_after_a_bf16_convolution(fp32_norms):
    """CPU autocast would run GroupNorm in bf16 after a bf16 convolution; the wrapper feeds it fp32 (as CUDA autocast
    does) and removes its hooks when the forward is done."""
    from mmpoolformer.engine import AutocastOptimWrapper
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.GroupNorm(1, 4), torch.nn.Conv2d(4, 2, 1))
    seen = []
    model[1].register_forward_hook(lambda module, args, out: seen.append((args[0].dtype, out.dtype)))
    wrapper = AutocastOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1), fp32_norms=fp32_norms)
    with wrapper.optim_context(model):
        out = model(torch.randn(2, 3, 8, 8))
    expected = torch.float32 if fp32_norms else torch.bfloat16
    assert seen == [(expected, expected)] and out.dtype == torch.bfloat16
    assert not model[1]._forward_pre_hooks


def test_autocast_optim_wrapper_keeps_named_parts_in_fp32():
    """``fp32_modules`` runs the named submodules outside autocast (fp32 in, fp32 convolutions), the rest in bf16;
    an unknown name is one line that lists the model's parts."""
    from mmpoolformer.engine import AutocastOptimWrapper
    from mmpoolformer.engine.config import ConfigError
    model = torch.nn.Module()
    model.backbone = torch.nn.Conv2d(3, 4, 3)
    model.head = torch.nn.Sequential(torch.nn.Conv2d(4, 4, 1), torch.nn.Conv2d(4, 2, 1))
    seen = {}
    for name in ('backbone', 'head.0', 'head.1'):
        model.get_submodule(name).register_forward_hook(lambda m, args, out, name=name: seen.update({name: out.dtype}))
    wrapper = AutocastOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1), fp32_modules=['head'])
    with wrapper.optim_context(model):
        out = model.head(model.backbone(torch.randn(2, 3, 8, 8)))
        after = model.backbone(torch.randn(1, 3, 8, 8))  # autocast is back on after the fp32 part
    assert seen == {'backbone': torch.bfloat16, 'head.0': torch.float32, 'head.1': torch.float32}
    assert out.dtype == torch.float32 and after.dtype == torch.bfloat16
    assert not model.head._forward_pre_hooks and not model.head._forward_hooks
    wrapper = AutocastOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1), fp32_modules=['neck'])
    with pytest.raises(ConfigError, match=r"^optim_wrapper.fp32_modules: the model has no submodule 'neck'; use a "
                                          r"name from model.named_modules\(\) such as \['backbone', 'head'\]$"):
        with wrapper.optim_context(model):
            pass
