"""Speed and memory of one backbone training step (forward, a loss over every pyramid level, backward, an SGD step):
ours in fp32 eager, with activation checkpointing (``with_cp``), channels_last, bf16 autocast and optionally
compiled, against its peers; losses and gradients checked before anything is timed."""
import time
from typing import Callable, Dict, Optional, Sequence

import torch

from mmpoolformer.engine.acceleration import bf16_available
from mmpoolformer.errors import ConfigError
from mmpoolformer.models.names import parse_backbone_name

from .compare import gradient_difference
from .measure import Variant, table, time_interleaved
from .peers import build_ours, peer_builders
from .synthetic_weights import official_weights


def train_step(model, x: torch.Tensor, optimizer, dtype: Optional[torch.dtype] = None,
               channels_last: bool = False) -> Callable[[], torch.Tensor]:
    """One step of ``model`` on ``x`` as a variant's ``run``: the loss is the mean square of every output level."""
    def run():
        inputs = x.contiguous(memory_format=torch.channels_last) if channels_last else x
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(x.device.type, dtype=dtype, enabled=dtype is not None):
            outs = model(inputs)
            loss = sum(o.float().square().mean() for o in outs)
        loss.backward()
        optimizer.step()
        return loss
    return run


def loss_and_grads(model, x: torch.Tensor, dtype: Optional[torch.dtype] = None,
                   channels_last: bool = False) -> tuple:
    """The loss of one training step of ``model`` on ``x`` and every parameter's gradient (by name)."""
    model.train()
    model.zero_grad()
    inputs = x.contiguous(memory_format=torch.channels_last) if channels_last else x
    with torch.autocast(x.device.type, dtype=dtype, enabled=dtype is not None):
        loss = sum(o.float().square().mean() for o in model(inputs))
    loss.backward()
    return loss.item(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def _stem_grad(grads: Dict[str, torch.Tensor]) -> torch.Tensor:
    return next(g for n, g in grads.items() if n.endswith(('stem.weight', 'stem.conv.weight',
                                                            'patch_embed.proj.weight')))


def benchmark_train_step(arch: str, shape: Sequence[int], batch: int, device: torch.device,
                         depths: Optional[Sequence[int]] = None, repeats: int = 10, warmup: int = 2,
                         bf16_tolerance: float = 2e-2, force_bf16: bool = False, compile_train: bool = False,
                         official_src: Optional[str] = None, match_timm: bool = False,
                         log: Callable[[str], None] = print) -> dict:
    """Time one training step of the backbone ``arch`` on random (``batch``, 3, *``shape``) inputs: its peers (timm's
    only for the baselines: PoolFormer's features_only model lacks the output norms, so its loss differs), and ours
    in fp32 eager, eager with ``with_cp``, channels_last, channels_last under bf16 autocast and, with
    ``compile_train``, the channels_last variants through ``torch.compile``.

    ``match_timm``: ours returns the stage outputs without output norms, as timm's ``features_only`` model does, so
    timm is the peer for PoolFormer too (eager fp32, and under bf16 autocast where bf16 is timed); the peers with
    output norms are left out.

    Checked first against our fp32 eager step: loss within 1e-4 and stem gradient within 1e-3 (relative; bf16:
    ``bf16_tolerance`` and 5x that), every gradient of the ``with_cp`` step within 1e-5 of the plain step's. Ends
    with the ``summary:`` and ``with_cp:`` lines (to ``log``); returns the results."""
    target = parse_backbone_name(arch, shape, depths)
    state = official_weights(target)
    torch.manual_seed(1)
    x = torch.randn(batch, 3, *shape, device=device)
    builders, skipped = peer_builders(target, state, official_src)
    plain_outputs = dict(norm_outputs=False) if match_timm else {}
    if match_timm:
        for name in [n for n in builders if n != 'timm']:
            del builders[name]
            skipped.append(dict(name=name, reason='returns normed stage outputs; timm\'s features_only model does '
                                                  'not, and ours matches it here'))
    elif 'timm' in builders and not target.baseline:
        del builders['timm']
        skipped.append(dict(name='timm', reason='features_only has no stage-output norms, so its training loss '
                                                'differs; it is timed in backbone mode'))
    with_bf16 = bf16_available(device) or force_bf16

    ours_ref = build_ours(target, state, **plain_outputs).to(device)
    ref_loss, ref_grads = loss_and_grads(ours_ref, x)
    ref_grad = _stem_grad(ref_grads)
    variants = []
    for name, builder in builders.items():
        model = builder()[0].to(device)
        loss, grads = loss_and_grads(model, x)
        grad = _stem_grad(grads)
        rel = abs(loss - ref_loss) / abs(ref_loss)
        grad_rel = ((grad - ref_grad).norm() / ref_grad.norm()).item()
        log(f'check {name}: loss relative diff {rel:.2e}, stem gradient relative diff {grad_rel:.2e}')
        if rel > 1e-4 or grad_rel > 1e-3:
            raise ConfigError(f'{name} training step differs from ours (loss {rel:.3g}, gradient {grad_rel:.3g}); '
                              f'refusing to time it')
        optimizer = torch.optim.SGD(model.parameters(), lr=0.)
        variants.append(Variant(f'{name} eager fp32', train_step(model, x, optimizer), 'peer'))
        if match_timm and with_bf16:
            variants.append(Variant(f'{name} eager bf16', train_step(model, x, optimizer, torch.bfloat16), 'peer'))
    # name, autocast dtype, channels_last, compiled, with_cp
    ours_options = [('ours eager fp32', None, False, False, False),
                    ('ours eager fp32 with_cp', None, False, False, True),
                    ('ours channels_last fp32', None, True, False, False)]
    if with_bf16:
        ours_options.append(('ours channels_last bf16', torch.bfloat16, True, False, False))
    if compile_train:
        ours_options.append(('ours compiled channels_last fp32', None, True, True, False))
        if with_bf16:
            ours_options.append(('ours compiled channels_last bf16', torch.bfloat16, True, True, False))
    with_cp_check = {}
    for name, dtype, channels_last, compiled, with_cp in ours_options:
        model = build_ours(target, state, with_cp=with_cp, **plain_outputs).to(device)
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        if compiled:
            start = time.perf_counter()
            model = torch.compile(model)
            loss_and_grads(model, x, dtype, channels_last)  # compiles forward and backward
            log(f'{name}: compiled forward and backward in {time.perf_counter() - start:.1f} s')
        loss, grads = loss_and_grads(model, x, dtype, channels_last)
        grad = _stem_grad(grads)
        rel = abs(loss - ref_loss) / abs(ref_loss)
        grad_rel = ((grad - ref_grad).norm() / ref_grad.norm()).item()
        log(f'check {name}: loss relative diff {rel:.2e}, stem gradient relative diff {grad_rel:.2e}')
        limit = (bf16_tolerance, 5 * bf16_tolerance) if dtype is not None else (1e-4, 1e-3)
        if rel > limit[0] or grad_rel > limit[1]:
            raise ConfigError(f'{name} training step differs from eager fp32 (loss {rel:.3g}, gradient '
                              f'{grad_rel:.3g}); refusing to time it')
        if with_cp:  # recomputing the forward must give every gradient of the plain step
            with_cp_check = gradient_difference(grads, ref_grads)
            log(f"check {name}: {with_cp_check['parameters']} parameter gradients, largest |diff| "
                f"{with_cp_check['max_abs_diff']:.2e} (relative to the gradient's largest magnitude "
                f"{with_cp_check['max_relative_diff']:.2e})")
            if with_cp_check['max_relative_diff'] > 1e-5:
                raise ConfigError(f"{name} gradients differ from the plain step's (relative "
                                  f"{with_cp_check['max_relative_diff']:.3g}, {with_cp_check['worst']}); refusing "
                                  f"to time it")
        # lr 0: every call does the full step's work while the weights (and so the work) stay the same
        optimizer = torch.optim.SGD(model.parameters(), lr=0.)
        variants.append(Variant(name, train_step(model, x, optimizer, dtype, channels_last), 'ours'))
    time_interleaved(variants, warmup, repeats, device)
    rows = [v.stats(batch) for v in variants]
    log(table(f'training step (forward + backward + SGD step) {target.name}, batch {batch}, input '
              f'{shape[0]}x{shape[1]}, {device}, torch threads {torch.get_num_threads()}', rows))
    for s in skipped:
        log(f"{s['name']:<30} skipped: {s['reason']}")
    by_name = {r['name']: r for r in rows}
    best_peer = min((r for r in rows if r['group'] == 'peer' and 'bf16' not in r['name']),
                    key=lambda r: r['median_ms'], default=None)
    base_row = best_peer or by_name['ours eager fp32']
    base = base_row['median_ms']
    line = (f"summary: {'best peer' if best_peer else 'ours eager'} fp32 {base:.1f} ms "
            f"({base_row['name'].split()[0]}); channels_last fp32 "
            f"{by_name['ours channels_last fp32']['median_ms']:.1f} ms "
            f"({base / by_name['ours channels_last fp32']['median_ms']:.2f}x); ")
    bf16 = by_name.get('ours channels_last bf16')
    line += (f"channels_last bf16 {bf16['median_ms']:.1f} ms ({base / bf16['median_ms']:.2f}x)" if bf16
             else 'channels_last bf16 n/a')
    log(line)
    plain, cp = by_name['ours eager fp32'], by_name['ours eager fp32 with_cp']
    cp_line = (f"with_cp: peak memory {cp['peak_mb']:.0f} MiB against {plain['peak_mb']:.0f} MiB without "
               f"({cp['peak_mb'] / plain['peak_mb']:.2f}x), step {cp['median_ms']:.1f} ms against "
               f"{plain['median_ms']:.1f} ms ({cp['median_ms'] / plain['median_ms']:.2f}x); gradients equal "
               f"(largest relative diff {with_cp_check['max_relative_diff']:.1e})")
    log(cp_line)
    return dict(mode='train', arch=target.name, family=target.family, depths=target.arch['depths'],
                shape=list(shape), batch=batch, device=str(device), threads=torch.get_num_threads(),
                torch=torch.__version__, norm_outputs=not (target.baseline or match_timm), rows=rows, skipped=skipped,
                summary=line,
                with_cp=dict(with_cp_check, peak_mb=cp['peak_mb'], peak_mb_without=plain['peak_mb'],
                             median_ms=cp['median_ms'], median_ms_without=plain['median_ms'], line=cp_line))
