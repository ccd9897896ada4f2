"""Hugging Face transformers' PoolFormer files (``save_pretrained`` of ``PoolFormerForImageClassification`` /
``PoolFormerModel``, the layout of the ``sail/poolformer_*`` hub files) load as the other layouts do, checked against
transformers' own classes: transformers 5.25 from ``.venv/transformers-for-tests`` (tools/setup.sh puts it there, off
the toolbox's path), run in a child process that writes the files and its outputs."""
import os
import subprocess
import sys

import pytest
import torch

from mmpoolformer.apis import init_model
from mmpoolformer.checkpoint import CheckpointError, load_backbone_weights, read_weights
from mmpoolformer.models import PoolFormer
from tests.helpers import ROOT, error_line, run_tool_here

TRANSFORMERS = os.path.join(ROOT, '.venv', 'transformers-for-tests')
TINY = dict(depths=[2, 1, 1, 1], hidden_sizes=[8, 16, 24, 32])

WRITE_FILES = """
import os
import sys
import torch
import transformers
from transformers import PoolFormerConfig, PoolFormerForImageClassification, PoolFormerModel

out = sys.argv[1]
torch.manual_seed(0)
config = PoolFormerConfig(depths={depths}, hidden_sizes={hidden_sizes}, num_labels=5)
models = dict(classifier=PoolFormerForImageClassification(config), bare=PoolFormerModel(config))
x = torch.randn(2, 3, 83, 121)
outputs = dict(x=x, version=transformers.__version__)
for name, model in models.items():
    with torch.no_grad():
        for param in model.parameters():  # layer scales of 1e-5 would hide the blocks: every weight drawn at scale
            param.normal_(0, 0.3)
    model.eval()
    with torch.no_grad():
        if name == 'classifier':
            outputs['logits'] = model(pixel_values=x).logits
            stages = model.poolformer(pixel_values=x, output_hidden_states=True).hidden_states
        else:
            stages = model(pixel_values=x, output_hidden_states=True).hidden_states
    outputs[name + '_stages'] = list(stages)
    model.save_pretrained(f'{{out}}/{{name}}')
    if name == 'bare':  # the format of transformers 4 and of the sail/poolformer_* hub files: torch.save's
        torch.save(model.state_dict(), f'{{out}}/bare/pytorch_model.bin')
        os.remove(f'{{out}}/bare/model.safetensors')
torch.save(outputs, f'{{out}}/outputs.pt')
"""


@pytest.fixture(scope='module')
def hugging_face(tmp_path_factory):
    """(folder, outputs): ``classifier/`` (config.json, model.safetensors) and ``bare/`` (config.json,
    pytorch_model.bin) written by transformers, and its outputs on ``outputs['x']``."""
    assert os.path.isdir(os.path.join(TRANSFORMERS, 'transformers')), \
        f'transformers for the tests is missing in {TRANSFORMERS}: run bash tools/setup.sh'
    folder = tmp_path_factory.mktemp('hugging_face')
    proc = subprocess.run([sys.executable, '-c', WRITE_FILES.format(**TINY), str(folder)], capture_output=True,
                          text=True, timeout=600, env=dict(os.environ, PYTHONPATH=TRANSFORMERS))
    assert proc.returncode == 0, proc.stderr[-3000:]
    outputs = torch.load(folder / 'outputs.pt', weights_only=True)
    assert outputs['version'] == '5.25.0' and len(outputs['bare_stages']) == 4
    return folder, outputs


def tiny_backbone(**options) -> PoolFormer:
    arch = dict(depths=TINY['depths'], embed_dims=TINY['hidden_sizes'])
    return PoolFormer(arch=arch, out_indices=(0, 1, 2, 3), norm_outputs=False, **options).eval()


@pytest.mark.parametrize('file', ['bare/pytorch_model.bin', 'classifier/model.safetensors', 'classifier'])
def test_a_file_or_folder_as_backbone_init_gives_transformers_stage_outputs(hugging_face, file):
    folder, outputs = hugging_face
    backbone = tiny_backbone()
    report = load_backbone_weights(backbone, str(folder / file))
    assert report['layout'] == 'huggingface' and report['fresh'] == []
    expected = outputs['bare_stages' if file.startswith('bare') else 'classifier_stages']
    with torch.no_grad():
        got = backbone(outputs['x'])
    for ours, theirs in zip(got, expected):
        torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5)
    if file.startswith('classifier'):
        assert {'norm.weight', 'norm.bias', 'classifier.weight', 'classifier.bias'} <= set(report['ignored'])


def test_a_classifier_file_into_a_classification_config_gives_transformers_logits(hugging_face, tmp_path):
    folder, outputs = hugging_face
    config = tmp_path / 'cls.py'
    config.write_text(f"_base_ = ['{ROOT}/configs/classification/poolformer_s12_in1k.py']\n"
                      f"model = dict(backbone=dict(arch=dict(_delete_=True, depths={TINY['depths']}, "
                      f"embed_dims={TINY['hidden_sizes']}), init_cfg=None),\n"
                      f"             head=dict(num_classes=5, in_channels=32))\n")
    model, _ = init_model(str(config), str(folder / 'classifier' / 'model.safetensors'))
    with torch.no_grad():
        logits = model(outputs['x'], mode='tensor')
    torch.testing.assert_close(logits, outputs['logits'], rtol=0, atol=1e-5)


def test_another_size_is_refused_naming_the_key(hugging_face):
    folder, _ = hugging_face
    with pytest.raises(CheckpointError) as raised:
        load_backbone_weights(PoolFormer(arch='s12'), str(folder / 'bare'))
    assert str(raised.value) == (
        f"checkpoint {folder / 'bare'} (huggingface layout, arch depths [2, 1, 1, 1], embed_dims [8, 16, 24, 32]) "
        f"does not fit PoolFormer(arch='s12'): stem.weight has shape (8, 3, 7, 7) in the file but (64, 3, 7, 7) in "
        f"the model; use the file made for this arch or change arch")


def test_the_converter_writes_them_in_this_layout(hugging_face, tmp_path):
    folder, outputs = hugging_face
    converted = tmp_path / 'converted.pth'
    proc = run_tool_here('tools/convert_checkpoint.py', folder / 'classifier', converted)
    tensors = len(tiny_backbone().state_dict())  # stem, downsampling, blocks: all the file has but its classifier
    assert proc.stdout.strip() == (f'wrote {converted}: {tensors} backbone tensors (arch depths [2, 1, 1, 1], '
                                   f'embed_dims [8, 16, 24, 32], from the huggingface layout), 0 other tensors kept, '
                                   f'4 classifier tensors dropped')
    backbone = tiny_backbone()
    load_backbone_weights(backbone, str(converted))
    with torch.no_grad():
        got = backbone(outputs['x'])
    torch.testing.assert_close(got[3], outputs['classifier_stages'][3], rtol=0, atol=1e-5)
    assert set(read_weights(str(converted))['state_dict']) == set(tiny_backbone().state_dict())
    # a folder that is not a model folder still gets the directory line
    (tmp_path / 'empty').mkdir()
    assert error_line(run_tool_here('tools/convert_checkpoint.py', tmp_path / 'empty', tmp_path / 'x.pth',
                                    check=False)) == (
        f'error: checkpoint {tmp_path / "empty"} is a directory, not a checkpoint file; pass the path of a checkpoint '
        f'file')


def test_the_pool_size_its_config_states_must_be_the_models(hugging_face, tmp_path):
    """The tensors cannot show the pooling window; config.json can: a pool_size-5 model into a pool-3 backbone is
    refused in one line, into a pool-5 backbone it loads."""
    import json
    import shutil
    folder, _ = hugging_face
    shutil.copytree(folder / 'bare', tmp_path / 'pool5')
    config = json.loads((tmp_path / 'pool5' / 'config.json').read_text())
    (tmp_path / 'pool5' / 'config.json').write_text(json.dumps(dict(config, pool_size=5)))
    weights = tmp_path / 'pool5' / 'pytorch_model.bin'
    with pytest.raises(CheckpointError) as raised:
        load_backbone_weights(tiny_backbone(), str(tmp_path / 'pool5'))
    assert str(raised.value) == (
        f"checkpoint {weights} does not fit PoolFormer(arch='custom'): its {tmp_path / 'pool5' / 'config.json'} says "
        f"pool_size 5, the model pools over 3; build the backbone with pool_size=5")
    assert load_backbone_weights(tiny_backbone(pool_size=5), str(weights))['fresh'] == []
