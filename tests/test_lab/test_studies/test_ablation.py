"""tools/ablate.py: a smoke study (a few iterations, one seed, a tiny data set) writes the table, the chart and the raw
results, with params/MACs that agree with the built models; bad names end in one line and exit code 2."""
import json
import os
import re

import cv2
import pytest
from mmengine.config import Config

from tests.helpers import ROOT, build_model, error_line, run_tool_here

# the smoke study: the baseline and the baselines' SepConv mixer (every other ablation config takes a training step
# in tests/test_configs/test_ablation_configs.py)
ABLATIONS = ['baseline', 'mixer_sepconv']
TASK_COLUMNS = {'cls': 'top-1 (%)', 'fpn': 'mIoU (%)'}


def valid_names(task):
    """'baseline' and the ablation names of configs/ablations/<task>_s12_*.py, listed here independently."""
    prefix = f'{task}_s12_'
    return ['baseline'] + sorted(name[len(prefix):-3] for name in os.listdir(os.path.join(ROOT, 'configs/ablations'))
                                 if name.startswith(prefix))


def parse_table(text):
    """Markdown table -> (header cells, {first cell: {header: cell}})."""
    rows = [[cell.strip() for cell in line.strip().strip('|').split('|')]
            for line in text.splitlines() if line.startswith('|')]
    header, body = rows[0], rows[2:]
    assert all(set(cell) <= set('- ') for cell in rows[1])
    return header, {row[0]: dict(zip(header, row)) for row in body}


@pytest.fixture(scope='module')
def smoke(tmp_path_factory):
    """The smoke study's work dir, output, table and chart, then the output of a rerun of one of its runs."""
    work_dir = tmp_path_factory.mktemp('ablate')
    proc = run_tool_here('tools/ablate.py', '--smoke', '--ablations', *ABLATIONS, '--work-dir', work_dir, '--jobs', '2')
    table = (work_dir / 'ablation_table.md').read_text()
    chart = cv2.imread(str(work_dir / 'ablation_chart.png'))
    rerun = run_tool_here('tools/ablate.py', '--smoke', '--tasks', 'cls', '--ablations', 'baseline', '--work-dir',
                          work_dir)
    return dict(work_dir=work_dir, stdout=proc.stdout, table=table, chart=chart, rerun=rerun.stdout)


def test_smoke_table(smoke):
    work_dir = smoke['work_dir']
    assert smoke['table'].split('\n\n')[0] in smoke['stdout']  # the table is also printed
    header, rows = parse_table(smoke['table'])
    assert header[:2] == ['ablation', 'paper ImageNet top-1 (%)']
    for task, metric in TASK_COLUMNS.items():
        assert [f'{task} params (M)', f'{task} MACs (G)', f'{task} {metric}', f'{task} train (s)'] == \
            header[header.index(f'{task} params (M)'):header.index(f'{task} params (M)') + 4]
    assert list(rows) == ABLATIONS
    assert rows['baseline']['paper ImageNet top-1 (%)'] == '77.2'  # Table 5 of the paper
    assert rows['mixer_sepconv']['paper ImageNet top-1 (%)'] == 'n/a'  # no paper has PoolFormer-S12 with SepConv
    for task, metric in TASK_COLUMNS.items():
        for ablation, row in rows.items():
            # one seed: the spread is 0; the metric is a percentage; the train time a positive number of seconds
            mean, spread = re.fullmatch(r'(\d+\.\d) ± (\d+\.\d)', row[f'{task} {metric}']).groups()
            assert 0 <= float(mean) <= 100 and spread == '0.0'
            assert float(row[f'{task} train (s)']) > 0
            # params: as many as the model of the run's own config has, counted directly
            cfg = Config.fromfile(str(work_dir / f'{task}_{ablation}_seed0' / f'{task}_{ablation}_seed0.py'))
            params = sum(p.numel() for p in build_model(cfg).parameters())
            assert float(row[f'{task} params (M)']) == pytest.approx(params / 1e6, abs=0.005)
        # a separable convolution adds weights and multiply-adds to pooling, which has neither
        base, dwconv = rows['baseline'], rows['mixer_sepconv']
        assert 0 < float(base[f'{task} MACs (G)']) < float(dwconv[f'{task} MACs (G)'])
        assert float(base[f'{task} params (M)']) < float(dwconv[f'{task} params (M)'])


def test_smoke_runs_are_the_ablations(smoke):
    """Each run's config has the ablation config's backbone change, no ImageNet weights, and the smoke schedule."""
    work_dir = smoke['work_dir']
    for task in TASK_COLUMNS:
        cfg = Config.fromfile(str(work_dir / f'{task}_mixer_sepconv_seed0' / f'{task}_mixer_sepconv_seed0.py'))
        assert cfg.model.backbone.type == 'mmpoolformer.MetaFormer'
        assert cfg.model.backbone.token_mixers == dict(type='SepConv', kernel_size=7)
        assert not cfg.model.backbone.get('init_cfg')
        assert cfg.train_cfg.max_iters == 3 and cfg.randomness.seed == 0
    results = json.loads((work_dir / 'ablation_results.json').read_text())
    assert sorted((r['task'], r['ablation'], r['seed']) for r in results) == sorted(
        (task, ablation, 0) for task in TASK_COLUMNS for ablation in ABLATIONS)
    assert all(r['ok'] for r in results)


def test_smoke_chart(smoke):
    chart = smoke['chart']
    assert chart is not None and chart.shape == (720, 1000, 3)  # 10 x 3.6 inches per task at 100 dpi, two tasks
    assert chart.std() > 10  # something is drawn


def test_rerun_skips_finished_runs(smoke):
    assert f'1 runs (1 already in {smoke["work_dir"] / "ablation_results.json"})' in smoke['rerun']


@pytest.mark.parametrize('args, message', [
    (['--ablations', 'mixer_magic'],
     f"unknown ablation 'mixer_magic' for task cls; choose from {', '.join(valid_names('cls'))} or all"),
    (['--tasks', 'fpn', '--ablations', 'mixer_random'],
     f"ablation 'mixer_random' is not available for task fpn; choose from {', '.join(valid_names('fpn'))} or all"),
    (['--tasks', 'det'], "unknown task 'det'; choose from cls, fpn"),
])
def test_bad_names(args, message, tmp_path):
    proc = run_tool_here('tools/ablate.py', *args, '--work-dir', tmp_path, check=False)
    assert error_line(proc) == f'error: {message}'
    assert not os.listdir(tmp_path)  # nothing written
