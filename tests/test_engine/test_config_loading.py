"""Config and data checks before a run: --cfg-options keys, configs that cannot merge, missing data, truncated
annotation files, class names, work dirs; each one line."""
import json
import re

import pytest
import torch

from tests.helpers import ROOT, config_in_repo, error_line, run_tool_here, write_config


def test_missing_data_root_and_annotation_file(broken_data, tmp_path):
    config = write_config(tmp_path)
    msg = error_line(run_tool_here('tools/train.py', config, '--data-root', tmp_path / 'nowhere', check=False))
    assert msg == (f'error: train data root {tmp_path}/nowhere/ does not exist; download the dataset there or pass '
                   f'--data-root /path/to/data (see README, "Data")')
    (broken_data / 'annotations' / 'instances_train2017.json').unlink()
    msg = error_line(run_tool_here('tools/train.py', config, '--data-root', broken_data, check=False))
    assert msg == (f'error: train annotation file {broken_data}/annotations/instances_train2017.json does not exist; '
                   f'check --data-root or the dataset layout described in the README')


def test_truncated_annotation_file(broken_data, tmp_path):
    ann = broken_data / 'annotations' / 'instances_train2017.json'
    ann.write_bytes(ann.read_bytes()[:5000])
    with pytest.raises(json.JSONDecodeError) as parse:
        json.loads(ann.read_text())
    position = f'{parse.value.msg}: line {parse.value.lineno} column {parse.value.colno}'
    msg = error_line(run_tool_here('tools/train.py', write_config(tmp_path), '--work-dir', tmp_path / 'w',
                                  '--data-root', broken_data, check=False))
    assert msg == (f'error: annotation file {ann} is not valid JSON ({position}); the file is truncated or damaged: '
                   f'download or write it again')



@pytest.mark.parametrize('damage,problem', [
    ('no images', "has an empty 'images' list, so the data set has no samples; pass an annotation file that lists "
                  "the images of the data set"),
    ('no annotations key', "has no 'annotations' key; a COCO-format file needs images, annotations and categories: "
                           "write it again or pass the right file")])
def test_training_set_without_images_or_annotations(broken_data, tmp_path, damage, problem):
    ann = broken_data / 'annotations' / 'instances_train2017.json'
    content = json.loads(ann.read_text())
    if damage == 'no images':
        content['images'] = []
    else:
        del content['annotations']
    ann.write_text(json.dumps(content))
    msg = error_line(run_tool_here('tools/train.py', write_config(tmp_path), '--work-dir', tmp_path / 'w',
                              '--data-root', broken_data, check=False))
    assert msg == f'error: annotation file {ann} {problem}'


def test_work_dir_that_cannot_be_a_folder(data, tmp_path):
    config = write_config(tmp_path)
    a_file = tmp_path / 'a_file'
    a_file.write_text('')
    for work_dir, expected in [
            (a_file / 'sub', f'error: work dir {a_file}/sub cannot be created: {a_file} is a file, not a folder; '
                             f'pass another --work-dir'),
            (a_file, f'error: work dir {a_file} is a file, not a folder; pass another --work-dir')]:
        msg = error_line(run_tool_here('tools/train.py', config, '--work-dir', work_dir, '--data-root', data,
                                      check=False))
        assert msg == expected


def test_categories_not_matching_config_classes(data, tmp_path):
    config = write_config(tmp_path, extra="metainfo = dict(classes=('circle', 'hexagon'))\n"
                                          "train_dataloader = dict(dataset=dict(metainfo=metainfo))")
    msg = error_line(run_tool_here('tools/train.py', config, '--work-dir', tmp_path / 'w', '--data-root', data,
                                  check=False))
    assert msg == (f"error: train annotation file {data}/annotations/instances_train2017.json has no categories named "
                   f"['hexagon'] (its categories: ['circle', 'square', 'triangle', 'cross']); set "
                   f"train_dataloader.dataset.metainfo.classes to categories of the file")


@pytest.mark.parametrize('option,expected', [
    ('model.backbone.frozen_stage=1', 'error: --cfg-options key "model.backbone.frozen_stage" does not exist in '
                                      '{config}; did you mean model.backbone.frozen_stages? fix the spelling, or write '
                                      '+model.backbone.frozen_stage=... to add a new key'),
    ('model.backbone.out_indices=(1,2,5)', 'out_indices=(1, 2, 5) is out of range: the backbone has 4 stages, so use '
                                           'indices 0..3 (or -4..-1)'),
    ('model.backbone.pool_size=4', 'pool_size=4 is invalid: PoolFormer pooling keeps the feature size only for an '
                                   'odd pool_size (e.g. 3, 5 or 7)'),
])
def test_bad_options_and_backbone_arguments(data, tmp_path, option, expected):
    config = write_config(tmp_path)
    msg = error_line(run_tool_here('tools/train.py', config, '--work-dir', tmp_path / 'w', '--data-root', data,
                                  '--cfg-options', option, check=False))
    assert expected.format(config=config) in msg


def test_config_that_cannot_merge_into_its_base(tmp_path):
    config = tmp_path / 'bad_merge.py'
    config.write_text(f"_base_ = ['{ROOT}/configs/retinanet_poolformer_s12_fpn_coco.py']\n"
                      "model = dict(backbone=dict(arch=dict(depths=[2, 2, 6, 2], embed_dims=[64, 128, 320, 512])))\n")
    msg = error_line(run_tool_here('tools/train.py', config, '--work-dir', tmp_path / 'w', check=False))
    assert msg.startswith(f'error: {config}: arch=') and 'is a dict in the child config' in msg and '_delete_' in msg
    assert not (tmp_path / 'w').exists()


def test_config_with_a_syntax_error_is_one_line_naming_file_and_line(tmp_path):
    """A Python syntax error in a config or in one of its _base_ files: the file and the line, not a traceback."""
    base = tmp_path / 'base.py'
    base.write_text("model = dict(\n    type='RetinaNet',\n    backbone=dict(type='PoolFormer'\n")
    child = tmp_path / 'child.py'
    child.write_text("_base_ = ['./base.py']\nmodel = dict(neck=None)\n")
    for config in (child, base):
        proc = run_tool_here('tools/test.py', config, tmp_path / 'x.pth', check=False)
        # (Python names the innermost bracket left open: line 3's)
        assert error_line(proc) == f"error: config {base} line 3: '(' was never closed (Python syntax); fix that line"


def test_batch_size_below_one_is_one_line(data, tmp_path):
    config = write_config(tmp_path)
    for tool, extra in (('tools/train.py', []), ('tools/test.py', [tmp_path / 'x.pth'])):
        proc = run_tool_here(tool, config, *extra, '--work-dir', tmp_path / 'w', '--data-root', data, '--cfg-options',
                             'train_dataloader.batch_size=0', check=False)
        assert error_line(proc) == (
            f'error: train_dataloader.batch_size=0 in {config}: a batch holds a positive whole number of images (per '
            f'GPU); set it to 1 or more, e.g. --cfg-options train_dataloader.batch_size=2')
    assert not (tmp_path / 'w').exists()


def test_backbone_weights_set_on_a_config_whose_base_has_none(data, tmp_path):
    """The quickstart's backbone has init_cfg=None: --cfg-options can still give it a Pretrained file, key by key."""
    from mmpoolformer.registry import MODELS
    config = write_config(tmp_path)
    backbone = MODELS.build(config_in_repo('configs/quickstart/retinanet_poolformer_s12_demo.py').model.backbone)
    weights = tmp_path / 'backbone.pth'
    torch.save(backbone.state_dict(), weights)
    proc = run_tool_here('tools/train.py', config, '--work-dir', tmp_path / 'w', '--data-root', data, '--cfg-options',
                         'model.backbone.init_cfg.type=Pretrained', f'model.backbone.init_cfg.checkpoint={weights}')
    assert re.search(rf"PoolFormer\(arch='custom'\): loaded \d+ tensors from {re.escape(str(weights))} \(mmpoolformer "
                     r"layout\)", proc.stdout)
