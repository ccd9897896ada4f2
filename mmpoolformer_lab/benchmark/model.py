"""Speed of a config's whole detector or segmentor: its test path eager against the fast path, and its exported ONNX
graph in ONNX Runtime against the same graph in PyTorch."""
import copy
import os.path as osp
import tempfile
import time
from typing import Callable, List, Optional, Sequence

import torch

from mmpoolformer.apis import build_test_model, make_test_batch
from mmpoolformer.deployment import OnnxModel, export_onnx
from mmpoolformer.deployment.onnx_model import build_graph, model_kind
from mmpoolformer.engine.acceleration import accelerate, bf16_available
from mmpoolformer.errors import ConfigError

from .compare import max_diff, relative_error
from .measure import Variant, no_grad_call, table, time_interleaved


def _flatten(out) -> List[torch.Tensor]:
    if torch.is_tensor(out):
        return [out]
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in _flatten(o)]
    return []


def network_call(model, data: dict) -> Callable[[], object]:
    """The network alone as a variant's ``run``: preprocessed input to raw head outputs (no post-processing such
    as NMS)."""
    processed = model.data_preprocessor(copy.copy(data), False)

    def run():
        with torch.no_grad():
            return model(processed['inputs'], processed['data_samples'], mode='tensor')
    return run


def test_step_call(model, data: dict) -> Callable[[], object]:
    """``model.test_step`` (preprocessing, network, post-processing) as a variant's ``run``."""
    def run():
        with torch.no_grad():
            return model.test_step(copy.copy(data))
    return run


def benchmark_model(config: str, shape: Sequence[int], batch: int, device: torch.device,
                    checkpoint: Optional[str] = None, repeats: int = 10, warmup: int = 2, tolerance: float = 1e-4,
                    bf16_tolerance: float = 2e-2, force_bf16: bool = False,
                    log: Callable[[str], None] = print) -> dict:
    """``config``'s model through its test path (``model.test_step``) on ``batch`` random images of ``shape``, eager
    fp32 against :func:`~mmpoolformer.engine.acceleration.accelerate` (fast fp32, and fast bf16 where it runs), and
    the network alone (``mode='tensor'``). Without ``checkpoint`` the weights are the model's own initialisation.
    The fast paths' network outputs are checked against eager first."""
    eager = build_test_model(config, checkpoint, device=str(device))
    data = make_test_batch(eager, batch, shape)
    with torch.no_grad():
        reference = _flatten(network_call(eager, data)())
    variants = [Variant('eager fp32', test_step_call(eager, data), 'eager'),
                Variant('eager fp32 network only', network_call(eager, data), 'network')]
    options = [('fast fp32', dict(compile=True))]
    if bf16_available(device) or force_bf16:
        options.append(('fast bf16', dict(compile=True, dtype='bf16')))
    for name, opts in options:
        model = copy.deepcopy(eager)  # the same (possibly random) weights
        accelerate(model, **opts, check_support=not force_bf16)
        start = time.perf_counter()
        with torch.no_grad():
            out = _flatten(network_call(model, data)())
        first = time.perf_counter() - start
        if 'dtype' in opts:
            err = relative_error(out, reference)
            log(f'check {name}: relative error of the network outputs against eager fp32 {err:.2e}')
            ok = err <= bf16_tolerance
        else:
            err = max_diff(out, reference)
            log(f'check {name}: max |diff| of the network outputs against eager fp32 {err:.2e}')
            ok = err <= tolerance
        if not ok:
            raise ConfigError(f'{name} network outputs differ from eager fp32 ({err:.3g}); refusing to time it')
        variant = Variant(name, test_step_call(model, data), 'fast')
        variant.note = f'compiled in {first:.1f} s'
        variants += [variant, Variant(f'{name} network only', network_call(model, data), 'network')]
    time_interleaved(variants, warmup, repeats, device)
    rows = [v.stats(batch) for v in variants]
    network_rows = [r for r in rows if r['group'] == 'network']
    rows = [r for r in rows if r['group'] != 'network']
    log(table(f'{osp.basename(config)} test step, batch {batch}, input {shape[0]}x{shape[1]}, {device}, torch '
              f'threads {torch.get_num_threads()}', rows))
    base = rows[0]['median_ms']
    line = 'summary: eager fp32 {:.1f} ms; '.format(base) + '; '.join(
        f"{r['name']} {r['median_ms']:.1f} ms ({base / r['median_ms']:.2f}x)" for r in rows[1:])
    if len(rows) < 3:
        line += '; fast bf16 n/a'
    log(table('the same, network only (preprocessed input to raw head outputs, no post-processing)', network_rows))
    log(line)
    return dict(mode='model', config=config, shape=list(shape), batch=batch, device=str(device),
                threads=torch.get_num_threads(), torch=torch.__version__, rows=rows, network_rows=network_rows,
                summary=line)


def benchmark_onnx(config: str, shape: Sequence[int], checkpoint: Optional[str] = None, backbone_only: bool = False,
                   repeats: int = 10, warmup: int = 2, log: Callable[[str], None] = print) -> dict:
    """The graph ``tools/deployment/export_onnx.py`` writes (backbone, segmentor, or detector up to its candidate
    boxes), exported static at ``shape``, in ONNX Runtime (CPU) against the same graph in PyTorch eager fp32, batch
    1, after the export's own check that both give equal outputs."""
    model = build_test_model(config, checkpoint)
    with tempfile.TemporaryDirectory() as folder:
        path = osp.join(folder, 'model.onnx')
        report = export_onnx(model, model.cfg, path, shape, backbone_only=backbone_only)
        log(f"exported {report['kind']} in {report['seconds']:.1f} s; ONNX Runtime against PyTorch: largest "
            f"relative difference {report['max_difference']:.2g}")
        graph = build_graph(model, model_kind(model, backbone_only)).eval()
        runtime = OnnxModel(path, threads=torch.get_num_threads())
        inputs = torch.randn(1, 3, *shape, generator=torch.Generator().manual_seed(0))
        array = inputs.numpy()
        variants = [Variant('PyTorch eager fp32', no_grad_call(graph, inputs), 'eager'),
                    Variant('ONNX Runtime fp32', lambda: runtime.run(array), 'onnx')]
        time_interleaved(variants, warmup, repeats, torch.device('cpu'))
        variants[1].peak_mb = float('nan')  # ONNX Runtime's memory is not torch's: not measured
    rows = [v.stats(1) for v in variants]
    what = 'backbone' if backbone_only else report['kind']
    log(table(f'{osp.basename(config)} {what} graph, input {shape[0]}x{shape[1]}, CPU, torch threads '
              f'{torch.get_num_threads()}, ONNX Runtime threads {torch.get_num_threads()}', rows))
    eager, onnx = rows[0]['median_ms'], rows[1]['median_ms']
    log(f'summary: PyTorch eager fp32 {eager:.1f} ms; ONNX Runtime {onnx:.1f} ms ({eager / onnx:.2f}x)')
    return dict(mode='onnx', config=config, shape=list(shape), rows=rows,
                max_relative_difference=report['max_difference'])
