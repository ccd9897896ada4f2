"""A config's own training loop (its data, model and optimizer) run by ``tools/train.py`` in fp32 and in faster
settings (``--amp``, ``--compile``) from the same seed: losses compared with fp32 at every iteration, time per
iteration."""
import os.path as osp
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable, Sequence

import torch
from mmengine.config import Config

from mmpoolformer.errors import ConfigError
from mmpoolformer.training_log import training_records

# run name -> its tools/train.py flags
LOOP_RUNS = {'fp32': [], 'amp': ['--amp'], 'compile': ['--compile'], 'amp+compile': ['--amp', '--compile']}


def short_schedule(cfg: Config, iters: int) -> list:
    """``--cfg-options`` that end ``cfg``'s training after ``iters`` iterations, without validation (MMEngine
    validates after the last epoch unless it is before ``val_begin``)."""
    if 'max_iters' in cfg.train_cfg:
        return [f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters + 1}']
    batch = cfg.train_dataloader.batch_size
    return ['train_cfg.max_epochs=1', 'train_cfg.val_begin=2', f'train_dataloader.dataset.indices={iters * batch}']


def benchmark_loop(config: str, iters: int = 20, runs: Sequence[str] = ('fp32', 'amp'), seed: int = 0,
                   cfg_options: Sequence[str] = (), log: Callable[[str], None] = print) -> dict:
    """Train ``config`` for ``iters`` iterations once per entry of ``runs`` (of :data:`LOOP_RUNS`; fp32 always
    runs, as the reference), each in a fresh temporary work dir, with ``cfg_options`` passed on; per-iteration
    losses and time per iteration (median over the second half, after start-up and compilation) to ``log``."""
    cfg = Config.fromfile(config)
    options = short_schedule(cfg, iters) + ['log_processor.window_size=1', 'default_hooks.logger.interval=1',
                                            f'randomness.seed={seed}', *cfg_options]
    names = ['fp32'] + [name for name in runs if name != 'fp32']
    logs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            work_dir = osp.join(tmp, name)
            command = [sys.executable, '-m', 'mmpoolformer.cli.train', config, '--work-dir', work_dir,
                       *LOOP_RUNS[name], '--cfg-options', *options]
            log(f'running {name}: tools/train.py {" ".join(command[3:])}')
            start = time.perf_counter()
            proc = subprocess.run(command, capture_output=True, text=True)
            if proc.returncode == 2:  # tools/train.py's one-line user error (e.g. --amp without bf16)
                raise ConfigError(f'the {name} run stopped: {proc.stderr.strip().splitlines()[-1]}')
            if proc.returncode != 0:
                raise RuntimeError(f'the {name} run failed (exit {proc.returncode}):\n{proc.stderr[-5000:]}')
            logs[name] = (training_records(work_dir), time.perf_counter() - start)
    n = min(len(records) for records, _ in logs.values())
    fp32 = logs['fp32'][0][:n]
    log(f'\n{osp.basename(config)}: {n} training iterations, seed {seed}, torch threads {torch.get_num_threads()}; '
        f'losses')
    log(f"{'iter':>5} " + ' '.join(f'{name:>12}' for name in names))
    for i in range(n):
        log(f'{i + 1:>5} ' + ' '.join(f"{logs[name][0][i]['loss']:>12.4f}" for name in names))
    results, parts = {}, []
    for name in names:
        records, wall = logs[name]
        rel = max(abs(r['loss'] - f['loss']) / abs(f['loss']) for r, f in zip(records[:n], fp32))
        # the first iterations include one-off start-up work (and compilation): time the second half
        per_iter = statistics.median(r['time'] for r in records[n // 2:n])
        results[name] = dict(losses=[r['loss'] for r in records[:n]], max_relative_loss_diff=rel,
                             s_per_iter=per_iter, wall_s=wall)
        log(f'{name:<12} {per_iter:.3f} s/iter (median of iterations {n // 2 + 1}-{n}), whole run {wall:.0f} s, '
            f'loss max relative diff to fp32 {100 * rel:.2f}%')
        if name != 'fp32':
            base = results['fp32']['s_per_iter']
            parts.append(f'{name} {per_iter:.3f} s/iter ({base / per_iter:.2f}x, loss max relative diff '
                         f'{100 * rel:.2f}%)')
    line = f"summary: fp32 {results['fp32']['s_per_iter']:.3f} s/iter; " + '; '.join(parts)
    log(line)
    return dict(mode='loop', config=config, iters=n, seed=seed, threads=torch.get_num_threads(), runs=results,
                summary=line)
