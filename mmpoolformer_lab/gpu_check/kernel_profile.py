"""Where a training step's time goes: ``torch.profiler``'s kernel table of one forward + backward pass.

Two comparisons back the goals of the check: RetinaNet-S12 against MMDetection's R50 RetinaNet (the whole detector's
loss step under autocast, on MMDetection's random demo batch) and the backbone's fast path against timm's eager model
(:func:`mmpoolformer_lab.benchmark.train_step.loss_and_grads`). Each side gets the table of its most expensive kernels
(CUDA kernels' own device time on a GPU; operators' own CPU time on a CPU), so that a missed goal comes with where the
time goes.
"""
from typing import Callable, Optional

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch.profiler import ProfilerActivity, profile

from mmpoolformer.engine.acceleration import bf16_available
from mmpoolformer.engine.fp32_ops import keep_in_fp32
from mmpoolformer.models.names import parse_backbone_name

from ..benchmark.peers import build_ours, build_timm
from ..benchmark.synthetic_weights import official_weights
from ..benchmark.train_step import train_step


def _synchronize(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def kernel_table(step: Callable[[], None], device: torch.device, top: int = 10, repeats: int = 3) -> dict:
    """Profile ``repeats`` calls of ``step`` (after one unprofiled warm-up call).

    Returns ``unit`` ('device' on CUDA: kernels' own GPU time; 'cpu' elsewhere: operators' own CPU time),
    ``total_ms`` (that time per call, all kernels together) and ``rows``: the ``top`` most expensive kernels, each with
    ``name``, ``ms`` (per call), ``calls`` (per call) and ``share`` (of ``total_ms``)."""
    step()
    _synchronize(device)
    cuda = device.type == 'cuda'
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        for _ in range(repeats):
            step()
        _synchronize(device)
    attribute = 'self_device_time_total' if cuda else 'self_cpu_time_total'
    events = [e for e in prof.key_averages() if getattr(e, attribute) > 0]
    total_us = sum(getattr(e, attribute) for e in events)
    events.sort(key=lambda e: getattr(e, attribute), reverse=True)
    rows = [dict(name=e.key, ms=getattr(e, attribute) / 1e3 / repeats, calls=e.count // repeats,
                 share=getattr(e, attribute) / total_us if total_us else 0.0) for e in events[:top]]
    return dict(unit='device' if cuda else 'cpu', total_ms=total_us / 1e3 / repeats, rows=rows)


def detector_loss_step(config: str, device: torch.device, batch: int, shape, dtype: Optional[torch.dtype]):
    """A callable that runs one loss forward + backward of ``config``'s detector (random init, no download) on
    MMDetection's random demo batch of ``batch`` images of ``shape`` (H, W), under autocast ``dtype`` (None: fp32).
    ``config`` is a file, not an ``mmdet::`` name."""
    from mmdet.registry import MODELS
    from mmdet.testing import demo_mm_inputs
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model).to(device).train()
    keep_in_fp32(model)  # as the runner does: NMS and RoIAlign in fp32
    num_classes = cfg.model.get('bbox_head', {}).get('num_classes') or 80
    packed = demo_mm_inputs(batch, [(3, *shape)] * batch, num_items=[4] * batch, num_classes=num_classes,
                            with_mask='roi_head' in cfg.model)
    data = model.data_preprocessor(packed, True)

    def step():
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            losses = model(**data, mode='loss')
        loss, _ = model.parse_losses(losses)
        loss.backward()
        model.zero_grad(set_to_none=True)
    return step


def detector_profiles(configs: dict, device: torch.device, batch: int, shape, top: int = 10) -> dict:
    """``kernel_table`` of each ``label -> config`` detector's loss step under AMP (fp16 on CUDA, bf16 on a CPU with
    bf16, fp32 otherwise); a side that fails is a record with its error."""
    dtype = torch.float16 if device.type == 'cuda' else (torch.bfloat16 if bf16_available(device) else None)
    precision = {torch.float16: 'AMP fp16', torch.bfloat16: 'AMP bf16', None: 'fp32'}[dtype]
    tables = {}
    for label, config in configs.items():
        try:
            table = kernel_table(detector_loss_step(config, device, batch, shape, dtype), device, top)
            tables[label] = dict(table, ok=True, precision=precision, batch=batch, shape=list(shape))
        except Exception as exc:  # reported, the check goes on
            tables[label] = dict(ok=False, error=f'{type(exc).__name__}: {exc}')
    return tables


def backbone_profiles(arch: str, shape, batch: int, depths, device: torch.device, compiled: bool,
                      top: int = 10) -> dict:
    """``kernel_table`` of the backbone's training step (:func:`mmpoolformer_lab.benchmark.train_step.train_step`) on
    random (``batch``, 3, *``shape``) inputs: ours on the fast path (channels_last, bf16 autocast where the device has
    it, compiled if ``compiled``) and timm's ``features_only`` model eager in the same precision, both with the same
    synthetic weights and no output norms."""
    target = parse_backbone_name(arch, shape, depths)
    state = official_weights(target)
    dtype = torch.bfloat16 if bf16_available(device) else None
    precision = 'bf16' if dtype else 'fp32'
    torch.manual_seed(1)
    x = torch.randn(batch, 3, *shape, device=device)
    tables = {}
    for label in (f'ours {"compiled " if compiled else ""}channels_last {precision}', f'timm eager {precision}'):
        try:
            if label.startswith('ours'):
                model = build_ours(target, state, norm_outputs=False).to(device).to(memory_format=torch.channels_last)
                model = torch.compile(model) if compiled else model
            else:
                model = build_timm(target, state).to(device)
            model.train()
            step = train_step(model, x, torch.optim.SGD(model.parameters(), lr=0.), dtype,
                              channels_last=label.startswith('ours'))
            tables[label] = dict(kernel_table(step, device, top), ok=True, batch=batch, shape=list(shape))
        except Exception as exc:  # reported, the check goes on
            tables[label] = dict(ok=False, error=f'{type(exc).__name__}: {exc}')
    return tables
