"""The fast inference path (compile, channels_last, bf16) and bf16 training with AutocastOptimWrapper."""
import copy
import sys

import pytest
import torch

from mmpoolformer import PoolFormer
from mmpoolformer.engine import acceleration as fi
from tests.helpers import ROOT, TINY_ARCH, TINY_FPN, TINY_RETINANET, max_diff, randomise, tiny_model


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

    from mmpoolformer.cli import train
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
    from mmpoolformer.errors import ConfigError
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
