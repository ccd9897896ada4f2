"""tools/gpu_check.sh --smoke on the CPU: the check's own machinery (every step, the report's every section, the
synthetic COCO-sized data, a failing run reported as failed); the measurements themselves need a GPU."""
import json
import subprocess

import numpy as np
import pytest
import torch
from pycocotools.coco import COCO

from mmpoolformer.engine.acceleration import bf16_available
from mmpoolformer_lab.gpu_check.kernel_profile import detector_profiles, kernel_table
from mmpoolformer_lab.gpu_check.report import markdown_report
from mmpoolformer_lab.gpu_check.synthetic_coco import COCO_IDS, coco_class_names, write_coco_sized
from mmpoolformer_lab.gpu_check.training_loop import timed_run
from tests.helpers import ROOT, error_line, run_tool_here

SECTIONS = ['## Environment', '## Quickstart (RetinaNet, tools/dist_train.sh)',
            "## Training loop on synthetic COCO-sized data (the configs' own loop, fp32 and AMP)",
            '## Backbone training step against timm', '## CUDA paths', '## Goals',
            '## Where the time goes (profiler kernel tables)']


@pytest.fixture(scope='module')
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp('gpu_check')
    proc = run_tool_here('tools/gpu_check.py', '--gpus', '1', '--smoke', '--out', out, check=False)
    return out, proc, json.loads((out / 'gpu_check.json').read_text())


def test_smoke_report_has_every_section_and_every_row_its_numbers(smoke):
    out, proc, report = smoke
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    markdown = (out / 'gpu_check.md').read_text()
    positions = [markdown.index(section) for section in SECTIONS]
    assert positions == sorted(positions)
    assert report['smoke'] and report['ok'] and report['environment']['mmcv compiled ops'] == 'load'
    quickstart = report['quickstart']
    assert quickstart['ok'] and quickstart['gpus'] == 1 and 'coco/bbox_mAP' in quickstart['metrics']
    loops = {(r['config'], r['precision']): r for r in report['loops']}
    assert {config for config, _ in loops} == {'RetinaNet PoolFormer-S12', 'RetinaNet R50 (MMDetection)',
                                               'Mask R-CNN PoolFormer-S12', 'Mask R-CNN R50 (MMDetection)'}
    assert {precision for _, precision in loops} == {'fp32', 'AMP fp16', 'AMP bf16'}
    for (config, precision), run in loops.items():
        if precision == 'AMP fp16' or (precision == 'AMP bf16' and run['ok'] is None):
            assert run['ok'] is None and run['error'] in ('fp16 autocast needs CUDA', 'this device has no bf16')
            assert f"| {config} | {precision} | 2 | not run: {run['error']} |" in markdown
            continue
        assert run['ok'] and run['iterations'] == 2 and run['loss_finite'] and run['batch'] == 2
        assert run['s_per_iter'] > 0 and run['images_per_s'] == pytest.approx(2 / run['s_per_iter'])
        assert run['schedule_hours']['8'] == pytest.approx(run['schedule_hours']['1'] / 8, rel=0.01)
    backbone = {row['name'] for row in report['backbone']['rows']}
    assert {'timm eager fp32', 'ours eager fp32', 'ours channels_last fp32'} <= backbone
    assert [line['name'] for line in report['cuda_paths']] == [
        'fp16 AMP with dynamic loss scaling (no overflow in the MLN GroupNorm)', 'bf16 AMP', '--compile training',
        'CUDA NMS and RoIAlign (Mask R-CNN)', 'SyncBN under dist_train.sh']
    assert all(line['status'] in ('passed', 'not run') for line in report['cuda_paths'])
    assert len(report['goals']) == 3
    detectors, backbone = report['profiles']['detectors'], report['profiles']['backbone']
    assert set(detectors) == {'RetinaNet PoolFormer-S12', 'RetinaNet R50 (MMDetection)'}
    precision = 'bf16' if bf16_available(torch.device('cpu')) else 'fp32'
    assert set(backbone) == {f'ours channels_last {precision}', f'timm eager {precision}'}
    for label, table in {**detectors, **backbone}.items():
        assert table['ok'] and table['unit'] == 'cpu' and len(table['rows']) == 10, label
        assert 0 < sum(r['ms'] for r in table['rows']) <= table['total_ms'] * 1.0001
        assert f"**{label}**" in markdown and f"| `{table['rows'][0]['name']}` |" in markdown
    # the backbones differ where the paper says: ResNet-50 is convolutions; PoolFormer adds pooling (its forward or
    # backward pass among the ten slowest operators: which of them ranks there varies with the machine's load)
    def pooling(label):
        return {r['name'] for r in detectors[label]['rows']} & {'aten::avg_pool2d', 'aten::avg_pool2d_backward'}
    assert pooling('RetinaNet PoolFormer-S12') and not pooling('RetinaNet R50 (MMDetection)')


def test_synthetic_data_is_valid_coco(smoke):
    out, _, _ = smoke
    coco = COCO(str(out / 'synthetic_coco' / 'annotations' / 'instances_train2017.json'))
    assert [coco.cats[i]['name'] for i in COCO_IDS] == list(coco_class_names())
    assert len(coco.imgs) == 32 and coco.anns  # two iterations of the largest batch (16)
    for ann in coco.anns.values():  # the polygon (through pixel centres) drawn again covers the box, to 2 px
        mask = coco.annToMask(ann)
        x, y, w, h = ann['bbox']
        ys, xs = np.nonzero(mask)
        assert max(abs(xs.min() - x), abs(ys.min() - y), abs(xs.max() + 1 - (x + w)), abs(ys.max() + 1 - (y + h))) <= 2
        assert 0.6 * ann['area'] <= mask.sum() <= ann['area']


def test_full_size_images_are_coco_sized(tmp_path):
    root = write_coco_sized(str(tmp_path), num_train=2, num_val=1)
    coco = COCO(f'{root}/annotations/instances_val2017.json')
    import cv2
    image = cv2.imread(f'{root}/val2017/{coco.imgs[1]["file_name"]}')
    assert image.shape == (480, 640, 3) and (coco.imgs[1]['height'], coco.imgs[1]['width']) == (480, 640)


def test_a_failing_run_is_reported_as_failed(smoke, tmp_path):
    """fp16 autocast on a CPU: tools/train.py refuses it; the run is a failed row with that line, not a gap."""
    out, _, report = smoke
    run = timed_run('RetinaNet PoolFormer-S12', f'{ROOT}/configs/retinanet_poolformer_s12_fpn_coco.py', 'AMP fp16',
                    str(tmp_path / 'fp16'), str(out / 'synthetic_coco'), iters=2, warmup=1, batch=2, scale=(128, 96))
    assert run['ok'] is False and run['error'].startswith('error: fp16 autocast is for CUDA GPUs; on CPU use bf16')
    report = dict(report, loops=[run], ok=False)
    markdown = markdown_report(report)
    assert f"| RetinaNet PoolFormer-S12 | AMP fp16 | 2 | **failed**: {run['error']} |" in markdown
    assert '**a step failed**' in markdown


def test_kernel_table_names_what_a_step_spends_its_time_on():
    a, b = torch.randn(384, 384), torch.randn(64)

    def step():
        for _ in range(3):
            a @ a
        b + 1
    table = kernel_table(step, torch.device('cpu'), top=5, repeats=4)
    top = table['rows'][0]
    assert table['unit'] == 'cpu' and (top['name'], top['calls']) == ('aten::mm', 3)
    assert top['share'] > 0.5 and top['ms'] <= table['total_ms']
    assert ('aten::add', 1) in {(r['name'], r['calls']) for r in table['rows']}


def test_a_failing_profile_is_reported_as_failed(smoke, tmp_path):
    out, _, report = smoke
    missing = str(tmp_path / 'no_such_config.py')
    tables = detector_profiles({'missing': missing}, torch.device('cpu'), 2, (64, 64))
    assert tables['missing']['ok'] is False and missing in tables['missing']['error']
    profiles = dict(report['profiles'], detectors=tables)
    assert f"**missing: failed**: {tables['missing']['error']}" in markdown_report(dict(report, profiles=profiles))


def test_skipped_steps_are_rows_that_say_so(tmp_path):
    """--skip leaves steps out (to fit a short GPU lease); the report still has every section, each saying so."""
    steps = ['quickstart', 'loops', 'backbone', 'cuda_paths', 'profiles']
    proc = run_tool_here('tools/gpu_check.py', '--smoke', '--skip', *steps, '--out', tmp_path)
    assert proc.returncode == 0
    report = json.loads((tmp_path / 'gpu_check.json').read_text())
    markdown = (tmp_path / 'gpu_check.md').read_text()
    assert report['ok'] and report['skipped'] == steps and '; skipped: quickstart, loops, backbone, cuda_paths, ' \
                                                            'profiles.' in markdown
    assert [markdown.index(section) for section in SECTIONS] == sorted(markdown.index(s) for s in SECTIONS)
    assert len(report['loops']) == 12 and {r['error'] for r in report['loops']} == {'skipped (--skip loops)'}
    assert '| Mask R-CNN R50 (MMDetection) | AMP bf16 | 2 | not run: skipped (--skip loops) |' in markdown
    for step in ('quickstart', 'backbone', 'profiles'):
        assert f'not run: skipped (--skip {step})' in markdown, step
    assert [(line['status'], line['detail']) for line in report['cuda_paths'][2:]] == [
        ('not run', 'skipped (--skip cuda_paths)')] * 3
    assert not (tmp_path / 'synthetic_coco').exists()
    proc = run_tool_here('tools/gpu_check.py', '--smoke', '--skip', 'warmup', '--out', tmp_path, check=False)
    assert proc.returncode == 2 and "argument --skip: invalid choice: 'warmup'" in proc.stderr


def test_without_cuda_only_the_smoke_runs(tmp_path):
    proc = subprocess.run(['bash', 'tools/gpu_check.sh', '1', '--out', str(tmp_path)], cwd=ROOT, capture_output=True,
                          text=True)
    assert error_line(proc) == ('error: no CUDA device here: the GPU check measures a GPU; on a CPU run it with '
                                '--smoke (it then checks the check and measures nothing)')
