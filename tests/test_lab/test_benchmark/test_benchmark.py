"""tools/analysis/benchmark.py: peers listed and checked equal before timing, model/train/loop/onnx modes."""
import json
import re

import pytest

from mmpoolformer.engine import acceleration as fi
from tests.helpers import ROOT, TINY_RETINANET, error_line, run_tool, run_tool_here

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
    proc = run_tool_here('tools/analysis/benchmark.py', 'backbone', '--smoke')
    assert ('official                       skipped: not available: pass --official-src PATH/TO/poolformer.py (the '
            'official definition is not on PyPI)') in proc.stdout


def test_benchmark_refuses_to_time_models_that_differ(tmp_path):
    official = tmp_path / 'poolformer.py'
    official.write_text(OFFICIAL_STAND_IN.format(offset=0.01))
    proc = run_tool('tools/analysis/benchmark.py', 'backbone', '--smoke', '--official-src', official, check=False)
    assert proc.returncode == 2
    assert error_line(proc).startswith('error: official outputs differ from ours by 0.01')
    assert 'median ms' not in proc.stdout  # nothing was timed


def test_benchmark_model_and_train_modes_smoke(tmp_path):
    config = tmp_path / 'tiny.py'
    config.write_text(TINY_RETINANET.format(root=ROOT))
    # a random tiny detector's bf16 outputs differ by 2-3 % (more with two tests per core): the smoke test checks the
    # tool's path, not bf16 accuracy
    proc = run_tool_here('tools/analysis/benchmark.py', 'model', config, '--smoke', '--bf16-tolerance', '0.05')
    assert 'check fast fp32: max |diff| of the network outputs against eager fp32' in proc.stdout
    assert 'summary: eager fp32' in proc.stdout
    proc = run_tool_here('tools/analysis/benchmark.py', 'train', '--smoke', '--arch', 's12')
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
        assert error_line(proc).startswith(
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


def test_benchmark_caformer_backbone_against_timm(tmp_path):
    """A baselines model by its published name (first block of each stage): timm's features_only caformer_s18 with
    the same official-layout weights is checked equal to ours (stage outputs, no output norms) before anything is
    timed; the peers timm lacks are listed as skipped; peak memory and speed-ups against timm are reported."""
    out = tmp_path / 'bench.json'
    proc = run_tool_here('tools/analysis/benchmark.py', 'backbone', '--smoke', '--arch', 'caformer_s18', '--depths',
                         '1', '1', '1', '1', '--floor', '--out', out)
    assert re.search(r'^check timm: max \|diff\| against ours [\d.e+-]+ \(allowed [\d.e+-]+\)$', proc.stdout, re.M)
    assert 'backbone caformer_s18 (depths 1 1 1 1) (stage outputs without output norms, as timm\'s)' in proc.stdout
    result = json.loads(out.read_text())
    names = [r['name'] for r in result['rows']]
    bf16 = ['ours fast bf16'] if fi.cpu_has_bf16() else []
    assert names == ['timm eager fp32', 'ours eager fp32', 'ours deploy fp32', 'ours fast fp32', *bf16]
    assert result['family'] == 'caformer' and result['depths'] == [1, 1, 1, 1] and not result['norm_outputs']
    assert {s['name']: s['reason'] for s in result['skipped']} == {
        'mmpretrain': 'not available: mmpretrain 1.2 has no CAFormer',
        'official': 'not available: --official-src takes the PoolFormer definition; the baselines are checked '
                    'against timm'}
    assert set(result['against_best_peer']) == set(names[1:])
    rows = {r['name']: r for r in result['rows']}
    for name, against in result['against_best_peer'].items():
        assert against['speedup'] == rows['timm eager fp32']['median_ms'] / rows[name]['median_ms']
    assert re.fullmatch(r'summary: best peer fp32 [\d.]+ ms \(timm\); fast fp32 [\d.]+ ms \([\d.]+x\); fast bf16 '
                        r'(n/a|[\d.]+ ms \([\d.]+x\))', result['summary'])
    assert result['memory'].startswith('memory: timm eager fp32 ') and result['memory'] in proc.stdout
    if fi.cpu_has_bf16():  # ours' bf16 is held to at most what bf16 autocast does to timm's model, if that is more
        assert re.search(r'^check timm under bf16 autocast: relative error against eager fp32 [\d.e+-]+$', proc.stdout,
                         re.M)
    check_caformer_floor(result, proc.stdout)


def caformer_s18_macs(depths=(1, 1, 1, 1), height=64, width=96):
    """Multiply-accumulates of CAFormer's convolutions, linear layers and attention (from its definition, for a
    batch of one), by kind."""
    dims, kinds = (64, 128, 320, 512), {'convolution': 0, 'matrix product': 0, 'attention': 0}
    pixels = [(height // 4 // 2 ** i) * (width // 4 // 2 ** i) for i in range(4)]
    kinds['convolution'] += pixels[0] * 3 * 49 * dims[0]  # stem 7x7
    for i, (dim, n, blocks) in enumerate(zip(dims, pixels, depths)):
        if i:
            kinds['convolution'] += n * dims[i - 1] * 9 * dim  # downsample 3x3
        if i < 2:  # SepConv: C -> 2C, depthwise 7x7, 2C -> C
            kinds['matrix product'] += blocks * n * 4 * dim * dim
            kinds['convolution'] += blocks * n * 2 * dim * 49
        else:  # attention: qkv, proj, q k^T and p v over all heads
            kinds['matrix product'] += blocks * n * 4 * dim * dim
            kinds['attention'] += blocks * 2 * n * n * dim
        kinds['matrix product'] += blocks * n * 8 * dim * dim  # MLP C -> 4C -> C
    return kinds


def check_caformer_floor(result, stdout):
    expected = caformer_s18_macs()
    for precision, floor in result['floor'].items():
        assert {op['kind']: op['gmacs'] for op in floor['ops']} == pytest.approx(
            {kind: macs / 1e9 for kind, macs in expected.items()})
        assert {op['kind']: op['calls'] for op in floor['ops']} == {'convolution': 6, 'matrix product': 16,
                                                                     'attention': 2}
        assert floor['largest_speedup'] == result['rows'][0]['median_ms'] / floor['total_ms']
        assert re.search(rf"^compute floor {precision} \(heavy kernels replayed alone, the faster equivalent "
                         rf"counted\): {floor['total_ms']:.1f} ms; a 2048\^3 matrix product runs at \d+ G MAC/s$",
                         stdout, re.M)
        assert f"  largest speedup possible over timm eager fp32: {floor['largest_speedup']:.2f}x" in stdout
        # the time outside the heavy kernels and where it goes: the compiled kernels are visible to the profiler
        fast = next(r for r in result['rows'] if r['name'] == f'ours fast {precision}')
        outside = floor['outside']
        assert outside['ms'] == pytest.approx(fast['median_ms'] - floor['total_ms'])
        assert re.search(rf"^outside the heavy kernels {precision}: fast {fast['median_ms']:.1f} ms - floor "
                         rf"{floor['total_ms']:.1f} ms = {outside['ms']:.1f} ms ", stdout, re.M)
        assert outside['passes_ms']['heavy kernels'] > 0
        assert any('norm' in kind for kind in outside['passes_ms']), outside['passes_ms']
    assert set(result['floor']) == ({'fp32', 'bf16'} if fi.cpu_has_bf16() else {'fp32'})


def test_benchmark_train_mode_reports_with_cp_memory_and_equal_gradients(tmp_path):
    """Train mode of a ConvFormer (first block of each stage): timm's model as the peer (same loss and stem
    gradient), and the step with activation checkpointing: every gradient equal to the plain step's, less peak
    memory (the blocks' activations are recomputed instead of kept)."""
    out = tmp_path / 'train.json'
    proc = run_tool_here('tools/analysis/benchmark.py', 'train', '--arch', 'convformer_s18', '--depths', '1', '1', '1',
                    '1', '--shape', '128', '128', '--batch', '1', '--repeats', '2', '--warmup', '1', '--out', out)
    assert 'check timm: loss relative diff' in proc.stdout
    result = json.loads(out.read_text())
    names = [r['name'] for r in result['rows']]
    assert names[:3] == ['timm eager fp32', 'ours eager fp32', 'ours eager fp32 with_cp']
    with_cp = result['with_cp']
    # stem (conv weight and bias, norm) and 3 stage entries (norm, conv weight and bias); 4 blocks of 11 tensors
    # (2 norms, SepConv's 3 convs and StarReLU's 2 scalars, the MLP's 2 convs and 2 scalars); res scales in stages 3-4
    assert with_cp['parameters'] == 3 + 3 * 3 + 4 * 11 + 2 * 2
    assert with_cp['max_relative_diff'] <= 1e-5
    assert with_cp['peak_mb'] < with_cp['peak_mb_without']
    assert re.search(r'^with_cp: peak memory \d+ MiB against \d+ MiB without \(0\.\d\dx\), step [\d.]+ ms against '
                     r'[\d.]+ ms \([\d.]+x\); gradients equal \(largest relative diff [\d.e+-]+\)$', proc.stdout, re.M)


def test_benchmark_names_the_families_it_knows():
    """The benchmark's --arch names go through the one name table (mmpoolformer.models.names)."""
    from mmpoolformer.errors import ConfigError
    from mmpoolformer.models.names import parse_backbone_name
    with pytest.raises(ConfigError, match=re.escape(
            "--arch coatnet_s18: unknown family 'coatnet'; use a PoolFormer size (s12, s24, s36, m36, m48) or "
            "FAMILY_SIZE with FAMILY one of caformer, convformer, poolformerv2, identityformer, randformer (e.g. "
            "caformer_s18)")):
        parse_backbone_name('coatnet_s18')
    with pytest.raises(ConfigError, match=re.escape(
            '--depths 4 1 1 1: give 4 block counts, each from 1 to those of caformer_s18 (3 3 9 3)')):
        parse_backbone_name('caformer_s18', depths=[4, 1, 1, 1])
    with pytest.raises(ConfigError, match=re.escape(
            'randformer_s12: RandFormer mixes a fixed token grid; pass a square --shape divisible by 32 (e.g. --shape '
            '224 224), not 800 1216')):
        parse_backbone_name('randformer_s12', (800, 1216))
    target = parse_backbone_name('randformer_s12', (224, 224), [1, 1, 2, 1])
    assert (target.timm_name, target.input_size, target.arch['depths']) == (None, 224, [1, 1, 2, 1])
    assert parse_backbone_name('s12').timm_name == 'poolformer_s12'
    assert parse_backbone_name('poolformerv2_s12').timm_name == 'poolformerv2_s12'
