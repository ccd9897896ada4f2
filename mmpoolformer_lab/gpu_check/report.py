"""The GPU check's report in Markdown: one section per step, every run a row (failed ones with their last line)."""
from typing import List, Optional


def _number(value: Optional[float], digits: int = 3) -> str:
    return '-' if value is None else f'{value:.{digits}f}'


def _environment(env: dict) -> List[str]:
    keys = ('device', 'torch', 'torch CUDA build', 'mmcv', 'mmcv CUDA ops', 'mmengine', 'mmdet', 'mmseg',
            'mmpretrain', 'transformers', 'workarounds')
    return ['; '.join(f'{k}: {env[k]}' for k in keys if k in env)]


def _not_ok(record: dict) -> List[str]:
    """The line of a step that did not run (``ok`` None) or failed."""
    return [f"not run: {record.get('error')}" if record['ok'] is None else f"**failed**: {record.get('error')}"]


def _quickstart(record: dict) -> List[str]:
    if not record['ok']:
        return _not_ok(record)
    metrics = ', '.join(f'{k} {v:.3f}' for k, v in record['metrics'].items() if k.startswith('coco/bbox_mAP'))
    return [f"`{record['config']}` trained through `tools/dist_train.sh` on {record['gpus']} process(es) in "
            f"{record['train_s']:.0f} s ({_number(record.get('s_per_iter'))} s/iter, median), tested through "
            f"`tools/dist_test.sh`: {metrics}"]


def _loops(records: List[dict]) -> List[str]:
    lines = ['| config | precision | batch | s/iter | data s/iter | images/s | peak MiB | losses finite | '
             '12 epochs on 1 GPU (h) | on 8 GPUs (h) |', '|' + ' --- |' * 10]
    for r in records:
        if r['ok'] is None or r['ok'] is False and 's_per_iter' not in r:
            state = 'not run' if r['ok'] is None else '**failed**'
            lines.append(f"| {r['config']} | {r['precision']} | {r['batch']} | {state}: {r.get('error')} |"
                         + ' |' * 6)
            continue
        hours = r.get('schedule_hours') or {}
        lines.append(f"| {r['config']} | {r['precision']} | {r['batch']} | {_number(r['s_per_iter'])} | "
                     f"{_number(r['data_s_per_iter'])} | {_number(r['images_per_s'], 1)} | "
                     f"{_number(r['peak_mib'], 0)} | {'yes' if r['loss_finite'] else '**no**'} | "
                     f"{_number(hours.get(1), 1)} | {_number(hours.get(8), 1)} |")
    return lines


def _backbone(result: dict) -> List[str]:
    if not result['ok']:
        return _not_ok(result)
    lines = [f"PoolFormer-S12 training step (forward, a loss over every level, backward, SGD step), batch "
             f"{result['batch']}, input {result['shape'][0]}x{result['shape'][1]}, outputs compared with timm's "
             f"first", '', '| variant | median ms | images/s | peak MiB |', '| --- | --- | --- | --- |']
    for r in result['rows']:
        lines.append(f"| {r['name']} | {r['median_ms']:.1f} | {r['images_per_s']:.1f} | {_number(r['peak_mb'], 0)} |")
    return lines + ['', result['summary']]


def _kernel_tables(tables: dict, what: str) -> List[str]:
    lines = []
    for label, table in tables.items():
        if not table['ok']:
            lines += [f"**{label}: failed**: {table['error']}", '']
            continue
        unit = 'GPU kernels\' own time' if table['unit'] == 'device' else 'operators\' own CPU time'
        lines += [f"**{label}**, {what} ({table.get('precision', '')}{', ' if table.get('precision') else ''}batch "
                  f"{table['batch']}, {table['shape'][0]}x{table['shape'][1]}): {table['total_ms']:.1f} ms per step "
                  f"of {unit}", '', '| kernel | ms per step | calls | share |', '| --- | --- | --- | --- |']
        lines += [f"| `{r['name'][:90]}` | {r['ms']:.2f} | {r['calls']} | {100 * r['share']:.1f} % |"
                  for r in table['rows']]
        lines.append('')
    return lines


def markdown_report(report: dict) -> str:
    """The whole report as Markdown."""
    size = 'smoke size (tiny images, a few iterations: checks the check, measures nothing)' if report['smoke'] \
        else 'full size'
    parts = [f"# GPU check, {report['date']}", '',
             f"{report['device']}, {report['gpus']} process(es), {size}; {report['wall_s'] / 60:.1f} min in all; "
             f"{'no step failed' if report['ok'] else '**a step failed**'}"
             f"{'; skipped: ' + ', '.join(report['skipped']) if report.get('skipped') else ''}.", '',
             '## Environment', '',
             *_environment(report['environment']), '', '## Quickstart (RetinaNet, tools/dist_train.sh)', '',
             *_quickstart(report['quickstart']), '',
             '## Training loop on synthetic COCO-sized data (the configs\' own loop, fp32 and AMP)', '',
             'Times are medians after the warm-up iterations; the schedule times assume the per-iteration time holds '
             'under data-parallel training over COCO train2017 (117266 images).', '', *_loops(report['loops']), '',
             '## Backbone training step against timm', '', *_backbone(report['backbone']), '',
             '## CUDA paths', '']
    parts += [f"- {line['name']}: **{line['status']}** ({line['detail']})" for line in report['cuda_paths']]
    parts += ['', '## Goals', '']
    parts += [f"- {g['name']}: {'met' if g['met'] else 'not measured' if g['met'] is None else '**missed**'} "
              f"({g['detail']})" for g in report['goals']]
    parts += ['', '## Where the time goes (profiler kernel tables)', '']
    if report['profiles'].get('skipped'):
        parts.append(f"not run: {report['profiles']['skipped']}")
    parts += _kernel_tables(report['profiles']['detectors'], 'loss step under autocast on a random batch')
    parts += _kernel_tables(report['profiles']['backbone'], 'training step')
    return '\n'.join(parts).rstrip('\n') + '\n'
