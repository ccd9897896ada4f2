"""tools/test.py on a trained tiny detector: bad checkpoints, an empty image, drawing, the fast path."""
import shutil

import pytest
import torch

from mmpoolformer.checkpoint.safe_format import from_safe
from tests.helpers import (
    RunsCode,
    build_model,
    config_in_repo,
    error_line,
    printed_metrics,
    run_tool,
    run_tool_here,
    write_config,
)


@pytest.fixture(scope='module')
def trained(data, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('trained')
    config, work = write_config(tmp), tmp / 'work'
    run_tool_here('tools/train.py', config, '--work-dir', work, '--data-root', data)
    return config, work / 'epoch_1.pth'


def test_bad_checkpoints_for_testing(trained, data, tmp_path):
    config, good = trained
    test = ['tools/test.py', config]
    opts = ['--work-dir', tmp_path / 'w', '--data-root', data]
    missing = tmp_path / 'missing.pth'
    assert error_line(run_tool_here(*test, missing, *opts, check=False)) == \
        f'error: checkpoint {missing} does not exist; check the path (or pass an http(s) URL)'
    assert error_line(run_tool_here(*test, good.parent, *opts, check=False)) == (
        f'error: checkpoint {good.parent} is a directory, not a checkpoint file; pass a checkpoint file in it, e.g. '
        f'{good}')
    empty_dir = tmp_path / 'empty_dir'
    empty_dir.mkdir()
    assert error_line(run_tool_here(*test, empty_dir, *opts, check=False)) == (
        f'error: checkpoint {empty_dir} is a directory, not a checkpoint file; pass the path of a checkpoint file')
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(good.read_bytes()[:5000])
    assert error_line(run_tool_here(*test, truncated, *opts, check=False)).startswith(
        f'error: checkpoint {truncated} is truncated or not a torch file')
    copied = tmp_path / 'copied.pth'  # the toolbox's checkpoints open safely wherever they are
    shutil.copy(good, copied)
    expected = printed_metrics(run_tool_here(*test, good, *opts).stdout)
    assert 'coco/bbox_mAP' in expected and printed_metrics(run_tool_here(*test, copied, *opts).stdout) == expected
    # a training checkpoint as MMEngine's own CheckpointHook writes it (full pickle: HistoryBuffer, NumPy objects),
    # e.g. by MMDetection's tools/train.py: torch's safe loader refuses it until mmpoolformer is imported
    mmengine_file = tmp_path / 'mmengine_epoch_1.pth'
    torch.save(from_safe(torch.load(good, weights_only=True)), mmengine_file)
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in run_tool(
        '-c', f'import torch; torch.load({str(mmengine_file)!r}, weights_only=True)', check=False).stderr
    assert printed_metrics(run_tool_here(*test, mmengine_file, *opts).stdout) == expected
    evil, marker = tmp_path / 'evil.pth', tmp_path / 'code_ran'
    state = torch.load(good, weights_only=True)['state_dict']
    torch.save({'state_dict': state, 'x': RunsCode(str(marker))}, evil)
    assert error_line(run_tool_here(*test, evil, *opts, check=False)) == (
        f'error: checkpoint {evil} needs io.open, which safe loading refuses (unpickling it could run code from the '
        f'file); only if you trust the file, pass --trust-checkpoint')
    assert not marker.exists(), 'the refused file ran code'
    assert printed_metrics(run_tool_here(*test, evil, *opts, '--trust-checkpoint').stdout) == expected
    assert marker.exists(), '--trust-checkpoint loads the file in full'
    other_arch = tmp_path / 's24.pth'
    s24 = build_model(config_in_repo('configs/retinanet_poolformer_s24_fpn_coco.py')).state_dict()
    torch.save({'state_dict': s24}, other_arch)
    # the quickstart base is S12 with layer scales from 0.1, an arch dict: named 'custom'; its neck is narrower
    assert error_line(run_tool_here(*test, other_arch, *opts, check=False)) == (
        f"error: checkpoint {other_arch} does not fit the model with PoolFormer(arch='custom'): "
        f"neck.lateral_convs.0.conv.weight has shape (256, 128, 1, 1) in the file but (128, 128, 1, 1) in the model; "
        f"use a checkpoint trained with this config")


def test_empty_image_in_testing(trained, broken_data, tmp_path):
    config, checkpoint = trained
    image = broken_data / 'val2017' / 'val_00001.jpg'
    image.write_bytes(b'')
    for workers in ('0', '1'):  # also raised in a DataLoader worker process
        msg = error_line(run_tool_here('tools/test.py', config, checkpoint, '--work-dir', tmp_path / 'w',
                                      '--data-root', broken_data, '--cfg-options',
                                      f'test_dataloader.num_workers={workers}', check=False))
        assert msg == (f'error: image {image} listed in the dataset is empty (0 bytes); restore the file or remove '
                       f'it from the annotation file')


def test_show_dir_draws_small_images_upscaled(trained, data, tmp_path):
    import cv2
    config, checkpoint = trained
    vis = tmp_path / 'vis'
    run_tool_here('tools/test.py', config, checkpoint, '--work-dir', tmp_path / 'w', '--data-root', data,
             '--show-dir', vis)
    drawn = sorted(vis.iterdir())
    assert [p.name for p in drawn] == [f'val_{i:05d}.jpg' for i in range(1, 5)]
    assert cv2.imread(str(drawn[0])).shape == (512, 1024, 3)  # 96 px upscaled to 512: ground truth | prediction


def test_fast_inference_flag_through_the_test_tool(trained, data, tmp_path):
    """tools/test.py --deploy: the FastInferenceHook folds the backbone after loading the checkpoint (channels_last,
    no compilation: the compiled path is checked in tests/test_fast_inference.py) and the metrics stay the same."""
    config, ckpt = trained
    opts = ['--data-root', data]
    eager = run_tool_here('tools/test.py', config, ckpt, '--work-dir', tmp_path / 'eager', *opts)
    fast = run_tool_here('tools/test.py', config, ckpt, '--work-dir', tmp_path / 'fast', '--deploy', *opts)
    assert 'fast inference on cpu: backbone, neck, bbox_head; eager, fp32, deploy folding on, channels_last on' in \
        fast.stdout
    eager_metrics, fast_metrics = printed_metrics(eager.stdout), printed_metrics(fast.stdout)
    assert eager_metrics and set(eager_metrics) == set(fast_metrics)
    for name, value in eager_metrics.items():
        assert abs(fast_metrics[name] - value) <= 1e-3, name
