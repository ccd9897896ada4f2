"""Whether two implementations compute the same thing: outputs and gradients compared before anything is timed."""
from typing import Dict, Sequence

import torch


def max_diff(ours: Sequence[torch.Tensor], theirs: Sequence[torch.Tensor]) -> float:
    """Largest |a - b| over paired tensors; inf when the counts or shapes differ."""
    if len(ours) != len(theirs):
        return float('inf')
    diffs = []
    for a, b in zip(ours, theirs):
        if a.shape != b.shape:
            return float('inf')
        diffs.append((a.float() - b.float()).abs().max().item())
    return max(diffs)


def output_scale(outputs: Sequence[torch.Tensor]) -> float:
    """The largest magnitude among ``outputs``, at least 1: fp32 rounding grows with it, so a tolerance is scaled
    by it (deep random baselines reach magnitudes in the hundreds; normed pyramids stay near 1)."""
    return max([1.] + [o.float().abs().max().item() for o in outputs])


def relative_error(ours: Sequence[torch.Tensor], reference: Sequence[torch.Tensor]) -> float:
    """Largest per-level ``||a - b|| / ||b||`` (for reduced-precision variants)."""
    return max(((a.float() - b.float()).norm() / b.float().norm().clamp_min(1e-12)).item()
               for a, b in zip(ours, reference))


def gradient_difference(grads: Dict[str, torch.Tensor], reference: Dict[str, torch.Tensor]) -> dict:
    """Compare two ``{name: gradient}`` dicts of the same model: ``parameters`` (count), ``max_abs_diff``,
    ``max_relative_diff`` (per parameter, the largest |diff| over the reference's largest magnitude) and ``worst``
    (that parameter's name). A parameter missing from either side counts as a relative difference of inf."""
    if set(grads) != set(reference):
        missing = sorted(set(grads) ^ set(reference))
        return dict(parameters=len(reference), max_abs_diff=float('inf'), max_relative_diff=float('inf'),
                    worst=f'gradients present on one side only: {missing[:3]}')
    worst, max_abs, max_rel = '', 0., 0.
    for name, ref in reference.items():
        diff = (grads[name] - ref).abs().max().item()
        rel = diff / max(ref.abs().max().item(), 1e-12)
        max_abs = max(max_abs, diff)
        if rel > max_rel or not worst:
            worst, max_rel = name, max(rel, max_rel)
    return dict(parameters=len(reference), max_abs_diff=max_abs, max_relative_diff=max_rel, worst=worst)
