"""mmpoolformer.compat: with transformers 5 installed (any current GPU image), ``import mmpoolformer`` makes mmdet,
mmseg and mmpretrain import and train, without touching the installed packages.

No download in CI: a stand-in ``transformers`` package of version 5.17.0 (the GPU image's) is written to a temporary
folder first on the path of child processes. It provides what transformers 5 provides to mmpretrain 1.2's multimodal
models and lacks what it removed (``modeling_utils.apply_chunking_to_forward``, ``GenerationMixin``,
``PretrainedConfig``, ``find_pruneable_heads_and_indices``, ``prune_linear_layer``; checked against the real
transformers 5.17.0 wheel), so ``import mmdet.models`` fails there as it does with the real one."""
import os
import subprocess
import sys
import textwrap

import pytest

from tests.helpers import ROOT, upstream_tool, write_config

STAND_IN = {
    '__init__.py': '''
        __version__ = '5.17.0'
        from .modeling_utils import GenerationConfig, PreTrainedModel
        from .models.auto.auto_factory import AutoConfig, _BaseAutoModelClass
        from .models.bert.configuration_bert import BertConfig


        class AutoModelForCausalLM(_BaseAutoModelClass):
            pass


        class AutoModelForImageClassification(_BaseAutoModelClass):
            pass


        for _name in ('AutoTokenizer', 'BartTokenizer', 'BasicTokenizer', 'BertTokenizer', 'BertTokenizerFast',
                      'LlamaTokenizer', 'WordpieceTokenizer', 'GPT2Tokenizer', 'BertLMHeadModel'):
            globals()[_name] = type(_name, (), {})
        ''',
    'activations.py': 'ACT2FN = {}\n',
    'modeling_outputs.py': ''.join(f'class {name}:\n    pass\n\n\n' for name in (
        'ModelOutput', 'BaseModelOutputWithPastAndCrossAttentions', 'BaseModelOutputWithPoolingAndCrossAttentions',
        'CausalLMOutputWithCrossAttentions', 'Seq2SeqLMOutput', 'BaseModelOutputWithPast', 'CausalLMOutputWithPast')),
    'modeling_utils.py': '''
        class GenerationConfig:
            pass


        class PreTrainedModel:
            pass


        def load_state_dict(path):
            return {}
        ''',
    'models/__init__.py': '',
    'models/auto/__init__.py': '',
    'models/auto/auto_factory.py': '''
        class _BaseAutoModelClass:
            @classmethod
            def from_config(cls, config):
                return cls()


        class AutoConfig:
            @classmethod
            def from_pretrained(cls, name):
                return cls()
        ''',
    'models/bert/__init__.py': '',
    'models/bert/configuration_bert.py': 'class BertConfig:\n    pass\n',
    'models/opt/__init__.py': '',
    'models/opt/configuration_opt.py': 'class OPTConfig:\n    pass\n',
    'utils/__init__.py': '''
        import logging


        def _keep(*args, **kwargs):
            return lambda f: f


        add_code_sample_docstrings = add_start_docstrings = add_start_docstrings_to_model_forward = _keep
        replace_return_docstrings = _keep
        ''',
}


@pytest.fixture(scope='module')
def transformers5(tmp_path_factory):
    """A folder holding the stand-in transformers 5.17.0 and its distribution metadata."""
    folder = tmp_path_factory.mktemp('transformers5')
    for name, text in STAND_IN.items():
        path = folder / 'transformers' / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    info = folder / 'transformers-5.17.0.dist-info'
    info.mkdir()
    (info / 'METADATA').write_text('Metadata-Version: 2.1\nName: transformers\nVersion: 5.17.0\n')
    return folder


def child(code_or_args, folder, check=True):
    args = ['-c', code_or_args] if isinstance(code_or_args, str) else list(map(str, code_or_args))
    env = dict(os.environ, PYTHONPATH=str(folder), PYTHONWARNINGS='ignore')
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_the_stand_in_breaks_the_stack_as_transformers_5_does(transformers5):
    proc = child('import transformers; assert transformers.__version__ == "5.17.0"; import mmdet.models', transformers5,
                 check=False)
    assert proc.returncode != 0
    assert 'class BertPreTrainedModel(PreTrainedModel):' in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == 'TypeError: NoneType takes no arguments'


def test_import_mmpoolformer_makes_the_stack_import_and_says_so(transformers5):
    proc = child('import mmpoolformer\n'
                 'import mmdet.models, mmseg.models, mmpretrain.models\n'
                 'from mmpretrain.utils.dependency import WITH_MULTIMODAL\n'
                 'from mmpoolformer.collect_env import collect_env\n'
                 'print(WITH_MULTIMODAL)\n'
                 'print("workarounds:", collect_env()["workarounds"])', transformers5)
    assert proc.stdout.splitlines()[-2:] == [
        'False', "workarounds: transformers 5.17.0 is installed and lacks what mmpretrain 1.2's multimodal models "
                 "import (modeling_utils.apply_chunking_to_forward), so they are turned off (mmpretrain.utils."
                 "dependency.WITH_MULTIMODAL = False) and mmdet, mmseg and mmpretrain import; nothing installed was "
                 "changed"]
    # the multimodal models are placeholders that say what they need, as without transformers
    proc = child('import mmpoolformer\nfrom mmpretrain.registry import MODELS\nMODELS.build(dict(type="BlipCaption"))',
                 transformers5, check=False)
    assert 'requires extra multi-modal dependencies' in proc.stderr


def test_both_train_tools_take_a_step_there(transformers5, data, tmp_path):
    """Ours, and MMDetection's own tools/train.py on a config whose custom_imports import mmpoolformer."""
    config = write_config(tmp_path, extra='train_dataloader = dict(dataset=dict(indices=2))')
    ours = child(['tools/train.py', config, '--work-dir', tmp_path / 'ours', '--data-root', data], transformers5)
    assert 'Epoch(train) [1][1/1]' in ours.stdout + ours.stderr
    options = [f'{key}={data}' for key in ('train_dataloader.dataset.data_root', 'val_dataloader.dataset.data_root')]
    theirs = child([upstream_tool('mmdet', 'train'), config, '--work-dir', tmp_path / 'theirs', '--cfg-options',
                    *options, f'val_evaluator.ann_file={data}/annotations/instances_val2017.json'], transformers5)
    assert 'Epoch(train) [1][1/1]' in theirs.stdout + theirs.stderr
    assert (tmp_path / 'theirs' / 'epoch_1.pth').is_file()


def test_only_a_transformers_lacking_the_names_is_worked_around(tmp_path, monkeypatch):
    """Decided from the installed package's source, without importing it: a 4.x that still has the names needs
    nothing; none installed needs nothing."""
    import importlib

    from mmpoolformer.compat import transformers_lacking_multimodal_names
    assert transformers_lacking_multimodal_names() is None  # none installed here
    for version, source in (('4.40.2', 'def apply_chunking_to_forward(*args):\n    pass\n'),
                            ('5.17.0', 'class PreTrainedModel:\n    pass\n')):
        folder = tmp_path / version
        (folder / 'transformers').mkdir(parents=True)
        (folder / 'transformers' / '__init__.py').write_text(f'__version__ = {version!r}\n')
        (folder / 'transformers' / 'modeling_utils.py').write_text(source)
        (folder / f'transformers-{version}.dist-info').mkdir()
        (folder / f'transformers-{version}.dist-info' / 'METADATA').write_text(
            f'Metadata-Version: 2.1\nName: transformers\nVersion: {version}\n')
        monkeypatch.syspath_prepend(str(folder))
        importlib.invalidate_caches()
        assert transformers_lacking_multimodal_names() == (None if version.startswith('4.') else version)
