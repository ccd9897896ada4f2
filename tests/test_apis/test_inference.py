"""mmpoolformer/apis/inference.py: ``init_model`` reads a config as the tools do (one-line errors, the toolbox's keys)
and loads a whole-model checkpoint through the one fit check."""
import re

import pytest
import torch

from mmpoolformer.apis import init_model
from mmpoolformer.errors import CheckpointError, ConfigError
from tests.helpers import ROOT, TINY_RETINANET


def test_a_missing_config_or_a_syntax_error_is_one_line_as_in_the_tools(tmp_path):
    missing = tmp_path / 'missing.py'
    with pytest.raises(ConfigError, match=re.escape(f'config {missing} does not exist; pass a file from configs/')):
        init_model(str(missing))
    base = tmp_path / 'base.py'
    base.write_text('model = dict(\n    type="RetinaNet",\n    backbone=dict(type="PoolFormer" arch="s12"))\n')
    child = tmp_path / 'child.py'
    child.write_text(f"_base_ = ['{base}']\n")
    with pytest.raises(ConfigError, match=re.escape(f'config {base} line 3: ') + r'.*\(Python syntax\); fix that line'):
        init_model(str(child))


def test_the_toolbox_keys_are_there_and_a_checkpoint_round_trips(tmp_path):
    config = tmp_path / 'tiny.py'
    config.write_text(TINY_RETINANET.format(root=ROOT))
    model, cfg = init_model(str(config), fast={})
    assert cfg.skip_unreadable_images is False and cfg.trust_checkpoint is False
    state = {k: torch.randn_like(v) if v.is_floating_point() else v for k, v in model.state_dict().items()}
    torch.save({'state_dict': state, 'meta': {'dataset_meta': {'classes': ('a', 'b', 'c')}}}, tmp_path / 'w.pth')
    loaded, _ = init_model(str(config), str(tmp_path / 'w.pth'), fast={})
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in state.items())
    assert loaded.dataset_meta['classes'] == ('a', 'b', 'c')
    del state['bbox_head.retina_cls.bias']
    torch.save({'state_dict': state}, tmp_path / 'lacking.pth')
    with pytest.raises(CheckpointError, match=re.escape(
            f'checkpoint {tmp_path / "lacking.pth"} does not fit the model with PoolFormer(arch=\'custom\'): the model '
            f'needs bbox_head.retina_cls.bias (27,), which the file lacks (1 such tensors); use a checkpoint trained '
            f'with this config')):
        init_model(str(config), str(tmp_path / 'lacking.pth'), fast={})
