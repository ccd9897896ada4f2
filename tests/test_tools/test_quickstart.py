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
    drawn = [f for _, _, files in os.walk(work / 'vis') for f in files if f.endswith(('.jpg', '.png'))]
    assert len(drawn) >= 20


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
    table = summarise(results).splitlines()
    assert '| mIoU | 61.333 | 54.000 | 70.000 | >= 55.0 | no |' in table
    assert '| wall time (min) | 10.3 | 5.0 | 16.0 | <= 15 | no |' in table
    assert '| 2 | 2 | 5.0 | 0.200 | 70.000 |' in table
    results[1]['metrics']['mIoU'], results[1]['seconds'] = 56.0, 600
    table = summarise(results).splitlines()
    assert '| mIoU | 62.000 | 56.000 | 70.000 | >= 55.0 | yes |' in table
    assert '| wall time (min) | 8.3 | 5.0 | 10.0 | <= 15 | yes |' in table


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
