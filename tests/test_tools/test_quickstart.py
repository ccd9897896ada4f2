"""The quickstart path: shortened quickstart runs (accuracy is measured outside CI, see README), drawing, log plots,
the seed-study verdicts."""
import glob
import os
import subprocess

import cv2
import mmcv
import mmengine
import numpy as np
import pytest

from tests.helpers import ROOT, error_line, printed_metrics, run_tool_here, top1_of_dump

QUICK = {  # a few iterations only: accuracy is not asserted in CI
    # two steps leave RetinaNet's scores at their 0.01 prior: a zero threshold keeps boxes to evaluate and draw;
    # validated once, at the end of its one epoch, so that its log holds a metric to plot
    'retinanet': ['train_cfg.max_epochs=1', 'model.test_cfg.score_thr=0.0'],
    'mask_rcnn': ['train_cfg.max_epochs=1', 'train_cfg.val_begin=2'],
    'fpn': ['train_cfg.max_iters=4', 'train_cfg.val_interval=5', 'default_hooks.checkpoint.interval=4'],
}
DATA = ['+demo_data.num_train=16', '+demo_data.num_val=20']  # a small demo set, written by the quickstart itself


@pytest.fixture(scope='module')
def quickstart_runs(tmp_path_factory):
    """Run each quickstart shortened, through the same script the README's main command runs, on a small demo set
    in a temporary folder (a user shortens it the same way); returns the runs and that folder."""
    runs, data = {}, tmp_path_factory.mktemp('qs_data')
    for model, extra in QUICK.items():
        work = tmp_path_factory.mktemp(f'qs_{model}')
        root = data / ('ade' if model == 'fpn' else 'coco')
        proc = subprocess.run(['bash', 'tools/quickstart.sh', model, '--data-root', str(root), '--cfg-options',
                               f'demo_data.root={data}', *DATA, *extra], cwd=ROOT, capture_output=True,
                              text=True, timeout=900, env=dict(os.environ, QUICKSTART_WORK_DIR=str(work)))
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        runs[model] = (work, proc.stdout)
    return runs, data


@pytest.mark.parametrize('model,metric', [('retinanet', 'coco/bbox_mAP'), ('mask_rcnn', 'coco/segm_mAP'),
                                          ('fpn', 'mIoU')])
def test_shortened_quickstart_trains_tests_and_draws(quickstart_runs, model, metric):
    work, stdout = quickstart_runs[0][model]
    assert metric in printed_metrics(stdout)
    # after the metric, its place in the range the README promises (a few iterations: below it)
    worst, best = promised(model)['Range'][metric]
    value = printed_metrics(stdout)[metric]
    assert value < worst
    assert f'{metric} {value:g}: BELOW the range the README promises, {worst:g}-{best:g} (mean ' in stdout
    assert stdout.rstrip().endswith("see docs/quickstart.md, 'A run below the range'")
    drawn = [f for _, _, files in os.walk(work / 'vis') for f in files if f.endswith(('.jpg', '.png'))]
    assert len(drawn) >= 20


CONFIGS = {'retinanet': 'retinanet_poolformer_s12_demo', 'mask_rcnn': 'mask_rcnn_poolformer_s12_demo',
           'fpn': 'fpn_poolformer_s12_demo', 'cls': 'poolformer_s12_cls_demo'}


def promised(model):
    """The quickstart's Results entry in configs/metafiles/quickstart.yml, read here with yaml."""
    import yaml
    with open(os.path.join(ROOT, 'configs/metafiles/quickstart.yml')) as f:
        return {m['Name']: m for m in yaml.safe_load(f)['Models']}[CONFIGS[model]]['Results'][0]


def test_the_readme_promises_the_metafile_results():
    """The README's quickstart table states each quickstart's mean and range as the metafile holds them (the
    numbers tools/quickstart.sh compares a run with)."""
    with open(os.path.join(ROOT, 'README.md')) as f:
        rows = {line.split('|')[1].strip(): line.split('|')[2].strip() for line in f
                if line.startswith('| `') and 'tools/quickstart.sh' not in line}
    names = {'coco/bbox_mAP': 'bbox mAP', 'coco/segm_mAP': 'segm mAP', 'mIoU': 'mIoU', 'accuracy/top1': 'top-1'}
    cells = {'retinanet': '`retinanet`', 'mask_rcnn': '`mask_rcnn`', 'fpn': '`fpn` (Semantic FPN)',
             'cls': '`cls` (classification)'}
    for model, cell in cells.items():
        result = promised(model)
        stated = ', '.join(f"{names[m]} {mean:g} ({result['Range'][m][0]:g}-{result['Range'][m][1]:g})"
                           for m, mean in result['Metrics'].items())
        assert rows[cell] == stated, (model, rows[cell], stated)


def test_range_lines_place_a_run_in_the_promise():
    from mmpoolformer_lab.studies.quickstart_range import range_lines
    promise = {'Metrics': {'mIoU': 68.3, 'aAcc': 90.0}, 'Range': {'mIoU': [67.7, 68.9], 'aAcc': [89.5, 90.5]},
               'Study': '3 runs'}
    assert range_lines(promise, {'mIoU': 68.9, 'aAcc': 91.0}) == [
        'mIoU 68.9: within the range the README promises, 67.7-68.9 (mean 68.3; 3 runs)',
        'aAcc 91: above the range the README promises, 89.5-90.5 (mean 90; 3 runs)']
    assert range_lines(promise, {'mIoU': 60.25}) == [
        "mIoU 60.25: BELOW the range the README promises, 67.7-68.9 (mean 68.3; 3 runs): see docs/quickstart.md, "
        "'A run below the range'",
        'aAcc: not in the test output; the README promises 89.5-90.5 (mean 90; 3 runs)']


def checkpoint_of(work):
    return work / os.path.basename((work / 'last_checkpoint').read_text().strip())


@pytest.mark.parametrize('model,config', [('retinanet', 'configs/quickstart/retinanet_poolformer_s12_demo.py'),
                                          ('fpn', 'configs/quickstart/fpn_poolformer_s12_demo.py')])
@pytest.mark.parametrize('mode', ['color', 'gray', 'rgba'])
def test_demo_draws_predictions(quickstart_runs, model, config, mode, tmp_path):
    work, _ = quickstart_runs[0][model]
    source = cv2.imread(str(quickstart_runs[1] / 'coco' / 'val2017' / 'val_00001.jpg'))
    image = tmp_path / 'in.png'
    if mode == 'gray':
        cv2.imwrite(str(image), cv2.cvtColor(source, cv2.COLOR_BGR2GRAY))
    elif mode == 'rgba':
        cv2.imwrite(str(image), cv2.cvtColor(source, cv2.COLOR_BGR2BGRA))
    else:
        cv2.imwrite(str(image), source)
    out = tmp_path / 'out.png'
    run_tool_here('tools/demo.py', image, config, checkpoint_of(work), '--out', out, '--score-thr', '0.0')
    drawn = cv2.imread(str(out))
    given = cv2.imread(str(image))
    assert drawn.shape == given.shape
    assert np.abs(drawn.astype(int) - given.astype(int)).mean() > 1.0  # boxes / class colours were drawn


def test_drawing_census_counts_the_predictions_tools_test_writes(quickstart_runs, tmp_path):
    """The seed study's census of a detection run (its dumped config and last checkpoint, predicted in a child
    process) equals the census of the predictions tools/test.py writes with --out for the same checkpoint."""
    from mmpoolformer_lab.studies.drawn_boxes import shape_rows, summarise_rows
    from mmpoolformer_lab.studies.quickstart import drawing_census
    work, _ = quickstart_runs[0]['retinanet']
    census = drawing_census(str(work), threads=2)
    config = str(work / 'retinanet_poolformer_s12_demo.py')
    out = tmp_path / 'results.pkl'
    run_tool_here('tools/test.py', config, checkpoint_of(work), '--work-dir', tmp_path, '--out', out)
    predictions = {os.path.basename(r['img_path']): (r['pred_instances']['bboxes'].numpy(),
                                                     r['pred_instances']['scores'].numpy(),
                                                     r['pred_instances']['labels'].numpy())
                   for r in mmengine.load(str(out))}
    ann_file = str(quickstart_runs[1] / 'coco' / 'annotations' / 'instances_val2017.json')
    expected = summarise_rows(shape_rows(ann_file, predictions))
    assert census.keys() == expected.keys() and census['shapes'] == expected['shapes'] > 20
    for key, value in expected.items():
        assert census[key] == pytest.approx(value, abs=1e-6), key


def test_feature_probe_of_a_trained_detector_reads_every_shape(quickstart_runs):
    """The linear probe of the detection study: one feature row per annotated shape of the training images it reads
    and of the test set (counted here from the json files), an accuracy between 0 and 1; on features that carry the
    class it is 1, on features that carry none it is at most what the commonest class gives plus noise."""
    import json

    from mmpoolformer_lab.studies.feature_probe import detector_probe, probe_accuracy
    work, _ = quickstart_runs[0]['retinanet']
    result = detector_probe(str(work / 'retinanet_poolformer_s12_demo.py'), str(checkpoint_of(work)),
                            train_images=10)
    annotations = {}
    for split in ('train', 'val'):
        with open(quickstart_runs[1] / 'coco' / 'annotations' / f'instances_{split}2017.json') as f:
            annotations[split] = json.load(f)
    first_ten = {image['id'] for image in annotations['train']['images'][:10]}
    assert result['train_objects'] == sum(a['image_id'] in first_ten for a in annotations['train']['annotations'])
    assert result['val_objects'] == len(annotations['val']['annotations'])
    assert 0 <= result['accuracy'] <= 1 and 0.25 <= result['chance'] <= 1
    rng = np.random.default_rng(0)
    labels = rng.integers(1, 5, 400)
    carrying = np.eye(5)[labels] + 0.1 * rng.standard_normal((400, 5))
    assert probe_accuracy((carrying[:300], labels[:300]), (carrying[300:], labels[300:])) == 1.0
    noise = rng.standard_normal((400, 5))
    assert probe_accuracy((noise[:300], labels[:300]), (noise[300:], labels[300:])) < 0.45


def test_plot_log_draws_loss_and_metric(quickstart_runs, tmp_path):
    work, _ = quickstart_runs[0]['retinanet']
    out = tmp_path / 'curve.png'
    run_tool_here('tools/plot_log.py', work, '--keys', 'loss', 'coco/bbox_mAP', '--out', out)
    img = cv2.imread(str(out))
    assert img.shape[0] >= 500 and img.shape[1] >= 600
    ink = (img < 200).any(axis=2)
    assert 0.01 < ink.mean() < 0.5  # axes, ticks and a curve: neither blank nor filled
    proc = run_tool_here('tools/plot_log.py', work, '--keys', 'no_such_key', '--out', out, check=False)
    assert proc.returncode == 2 and 'no_such_key not logged' in proc.stderr and 'loss' in proc.stderr


def test_quickstart_study_judges_each_target_by_the_worst_run():
    """tools/analysis/quickstart_study.py's table: mean, min and max per metric; a target is met only if the worst
    run meets it (metric and wall time alike)."""
    from mmpoolformer_lab.studies.quickstart import summarise
    runs = [(0, 1, 10, 60.0), (1, 1, 16, 54.0), (2, 2, 5, 70.0)]
    results = [dict(model='fpn', seed=seed, threads=threads, amp=False, seconds=60 * minutes, ok=True, iter_s=0.2,
                    metrics={'mIoU': miou}) for seed, threads, minutes, miou in runs]
    results[2]['isa'] = 'avx2'
    table = summarise(results).splitlines()
    assert '| mIoU | 61.333 | 54.000 | 70.000 | >= 55.0 | no |' in table
    assert '| wall time (min) | 10.3 | 5.0 | 16.0 | <= 15 | no |' in table
    assert '| 2 | 2 | avx2 | 5.0 | 0.200 | 70.000 |' in table and '| 0 | 1 | all | 10.0 | 0.200 | 60.000 |' in table
    assert not any('another class' in line for line in table)  # segmentation: no drawings census
    results[1]['metrics']['mIoU'], results[1]['seconds'] = 56.0, 600
    table = summarise(results).splitlines()
    assert '| mIoU | 62.000 | 56.000 | 70.000 | >= 55.0 | yes |' in table
    assert '| wall time (min) | 8.3 | 5.0 | 10.0 | <= 15 | yes |' in table
    # a detector is also judged by the share of shapes with another class's box drawn over them (worst run)
    detections = [dict(model='retinanet', seed=seed, threads=2, amp=False, seconds=300, ok=True, iter_s=0.3,
                       metrics={'coco/bbox_mAP': 0.7}, drawings=dict(other_class_drawn=share))
                  for seed, share in ((0, 0.02), (1, 0.06))]
    table = summarise(detections).splitlines()
    assert '| shapes with another class drawn | 4.0% | 2.0% | 6.0% | <= 5% | no |' in table
    assert '| 1 | 2 | all | 5.0 | 0.300 | 0.700 | 6.0% |' in table
    assert '| wall time (min) | 5.0 | 5.0 | 5.0 | <= 6 | yes |' in table  # RetinaNet's budget: 6 minutes
    detections[0]['side_by_side'] = True  # runs sharing the cores: their times are not those of a run alone
    assert '| wall time (min) | 5.0 | 5.0 | 5.0 | <= 6 | no: runs side by side |' in summarise(detections).splitlines()


def test_study_runs_side_by_side_wait_passively(monkeypatch, tmp_path):
    """quickstart_study.py --jobs 2: each run's OpenMP threads wait passively, so that spinning threads do not take
    the cores from the run beside it; a run alone keeps OpenMP's default."""
    from mmpoolformer_lab.studies import quickstart
    environments = []

    def fake_run(command, cwd, env, capture_output, text):
        environments.append(env)
        return subprocess.CompletedProcess(command, 0, stdout='mIoU: 60.0\n', stderr='')

    monkeypatch.setattr(quickstart.subprocess, 'run', fake_run)
    monkeypatch.delenv('OMP_WAIT_POLICY', raising=False)
    beside = quickstart.run_one('fpn', 0, 2, str(tmp_path), [], log=lambda line: None, side_by_side=True)
    alone = quickstart.run_one('fpn', 1, 2, str(tmp_path), [], log=lambda line: None)
    assert environments[0]['OMP_WAIT_POLICY'] == 'PASSIVE' and 'OMP_WAIT_POLICY' not in environments[1]
    assert environments[0]['OMP_NUM_THREADS'] == '2' and beside['side_by_side'] and not alone['side_by_side']
    assert beside['metrics'] == {'mIoU': 60.0}


def test_classification_quickstart_shortened(tmp_path):
    """The quickstart config refuses to train before its data is written; written by the explicit step, it trains,
    tests, prints the accuracy of its predictions and draws them (shortened: a few iterations on a small set, so no
    accuracy target)."""
    config = 'configs/quickstart/poolformer_s12_cls_demo.py'
    root, work = tmp_path / 'shapes', tmp_path / 'work'
    options = ['--data-root', root, '--work-dir', work, '--cfg-options', 'demo_data.num_train=64',
               'demo_data.num_val=10']
    proc = run_tool_here('tools/train.py', config, *options, 'train_cfg.max_epochs=1', check=False)
    assert proc.returncode == 2 and error_line(proc) == (
        f'error: the demo data set in {root} is missing, unfinished or written with other settings; write it with '
        f'python tools/make_demo_data.py --config {config} (with the same --data-root/--cfg-options), or run bash '
        f'tools/quickstart.sh')
    proc = run_tool_here('tools/make_demo_data.py', '--config', config, *options)
    assert proc.stdout.splitlines()[0] == f'writing the demo data set to {root}'
    proc = run_tool_here('tools/train.py', config, *options, 'train_cfg.max_epochs=1')
    assert len(glob.glob(str(root / 'val' / '*' / '*.png'))) == 10
    out = tmp_path / 'results.pkl'
    proc = run_tool_here('tools/test.py', config, work / 'epoch_1.pth', *options[:4], '--show-dir', tmp_path / 'vis',
                    '--out', out, *options[4:])
    assert printed_metrics(proc.stdout)['accuracy/top1'] == top1_of_dump(mmengine.load(str(out)))
    drawn = sorted(os.listdir(tmp_path / 'vis'))
    assert len(drawn) == 10
    assert min(mmcv.imread(str(tmp_path / 'vis' / drawn[0])).shape[:2]) == 512  # 48 px crops drawn readable


def test_study_isa_option_limits_the_kernels_of_pytorch_and_onednn():
    """--isa avx2 runs a quickstart with PyTorch's and oneDNN's kernels limited to AVX2 (another floating-point
    order, as on a CPU without AVX-512): what both libraries report in a process started with that environment."""
    from mmpoolformer_lab.studies.quickstart import ISA_ENV
    code = ('import torch\n'
            'print(torch.backends.cpu.get_cpu_capability())\n'
            'with torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):\n'
            '    torch.nn.functional.conv2d(torch.randn(1, 64, 56, 56), torch.randn(64, 64, 3, 3))\n')
    proc = subprocess.run([os.path.join(ROOT, '.venv/bin/python'), '-c', code], capture_output=True, text=True,
                          env=dict(os.environ, **ISA_ENV['avx2']), check=True)
    lines = proc.stdout.splitlines()
    assert lines[0] == 'AVX2'
    assert any(',isa:Intel AVX2' in line for line in lines), proc.stdout[:2000]
    assert any('jit:avx2' in line for line in lines if 'convolution' in line), proc.stdout[:2000]
