"""mmpoolformer/checkpoint/mmengine_records.py: once ``mmpoolformer`` is imported, torch's safe loader opens the
training checkpoints MMEngine's own CheckpointHook writes (HistoryBuffer, NumPy arrays, scalars and dtypes), and
still refuses everything else it refused before."""
import collections
import io
import pickle

import numpy as np
import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.logging import HistoryBuffer, MessageHub

import mmpoolformer  # noqa: F401  (what a config's custom_imports runs)
from tests.helpers import RunsCode, run_tool


def mmengine_training_checkpoint() -> dict:
    """What MMEngine's ``Runner.save_checkpoint`` puts into a file beside the weights: the message hub's state
    (``HistoryBuffer`` logs fed Python and NumPy numbers, NumPy runtime infos) and a meta with NumPy values."""
    hub = MessageHub.get_instance('records_test')
    for loss in (0.75, np.float64(0.5), np.float32(0.25)):
        hub.update_scalar('train/loss', loss)
    hub.update_scalar('train/lr', 1e-4)
    hub.update_info('iter', 3)
    hub.update_info('keep_ckpt_ids', [1, 2])
    hub.update_info('counts', np.arange(6, dtype=np.int32).reshape(2, 3))
    meta = dict(epoch=1, iter=3, seed=np.int64(1234), mean=np.float32(0.5), flag=np.bool_(True),
                dtype=np.dtype('float16'), dataset_meta=dict(classes=('circle', 'square')))
    return dict(meta=meta, state_dict=collections.OrderedDict(weight=torch.arange(4.)),
                message_hub=hub.state_dict(), optimizer=dict(state={}, param_groups=[dict(lr=1e-4, params=[0])]))


def saved(obj) -> bytes:
    stream = io.BytesIO()
    torch.save(obj, stream)
    return stream.getvalue()


def safe_load(data: bytes):
    return torch.load(io.BytesIO(data), weights_only=True)


def test_a_fresh_interpreter_refuses_the_file_until_mmpoolformer_is_imported(tmp_path):
    path = tmp_path / 'epoch_1.pth'
    path.write_bytes(saved(mmengine_training_checkpoint()))
    code = (f'import torch\n'
            f'try:\n'
            f'    torch.load({str(path)!r}, weights_only=True)\n'
            f'except Exception as exc:\n'
            f'    print("refused:", "Unsupported global" in str(exc))\n'
            f'import mmpoolformer\n'
            f'print("loaded:", sorted(torch.load({str(path)!r}, weights_only=True)))\n')
    assert run_tool('-c', code).stdout.splitlines() == [
        'refused: True', "loaded: ['message_hub', 'meta', 'optimizer', 'state_dict']"]


def test_what_the_safe_loader_rebuilds_equals_the_full_unpickling():
    data = saved(mmengine_training_checkpoint())
    full, safe = torch.load(io.BytesIO(data), weights_only=False), safe_load(data)
    for name in ('train/loss', 'train/lr'):
        ours, theirs = safe['message_hub']['log_scalars'][name], full['message_hub']['log_scalars'][name]
        assert type(ours) is HistoryBuffer
        for got, want in zip(ours.data, theirs.data):
            assert got.dtype == want.dtype and np.array_equal(got, want)
        assert ours.mean() == theirs.mean() and ours.current() == theirs.current() and ours.max() == theirs.max()
    assert safe['message_hub']['log_scalars']['train/loss'].mean() == pytest.approx(0.5)
    counts = safe['message_hub']['runtime_info']['counts']
    assert counts.dtype == np.int32 and np.array_equal(counts, np.arange(6).reshape(2, 3))
    assert safe['message_hub']['runtime_info']['keep_ckpt_ids'] == [1, 2]
    meta = safe['meta']
    assert type(meta['seed']) is np.int64 and meta['seed'] == 1234
    assert type(meta['mean']) is np.float32 and type(meta['flag']) is np.bool_ and meta['dtype'] == np.float16
    assert torch.equal(safe['state_dict']['weight'], torch.arange(4.))


class GetAttr:
    """Unpickles as ``getattr(owner, name)``: how a file would reach a method through the allowed ``getattr``."""

    def __init__(self, owner, name):
        self.owner, self.name = owner, name

    def __reduce__(self):
        return (getattr, (self.owner, self.name))


def test_getattr_reaches_only_the_history_buffer_statistics():
    assert safe_load(saved({'mean': GetAttr(HistoryBuffer, 'mean')}))['mean'] is HistoryBuffer.mean
    for owner, name in ((np.ndarray, 'tofile'), (HistoryBuffer, '__init__'), (HistoryBuffer, 'register_statistics')):
        with pytest.raises(pickle.UnpicklingError,
                           match=f'rebuilds only HistoryBuffer.min/max/current/mean through getattr, not '
                                 f'{owner.__qualname__}.{name}'):
            safe_load(saved({'x': GetAttr(owner, name)}))


def test_everything_else_stays_refused(tmp_path):
    marker = tmp_path / 'code_ran'
    with pytest.raises(pickle.UnpicklingError, match='Unsupported global: GLOBAL io.open'):
        safe_load(saved({'x': RunsCode(str(marker))}))
    objects = np.empty(1, dtype=object)
    objects[0] = RunsCode(str(marker))  # object arrays stay refused: only numbers' and booleans' dtypes are allowed
    with pytest.raises(pickle.UnpicklingError, match="types allowlisted via `add_safe_globals`, but got <class "
                                                     "'numpy.dtypes.ObjectDType'>"):
        safe_load(saved({'x': objects}))
    assert not marker.exists()
    with pytest.raises(pickle.UnpicklingError, match='Unsupported global: GLOBAL mmengine.config.config.ConfigDict'):
        safe_load(saved({'cfg': ConfigDict(a=1)}))


def test_files_numpy_1_wrote_load_too():
    """NumPy 1 pickled its rebuilders as ``numpy.core.multiarray._reconstruct`` / ``scalar`` (NumPy 2:
    ``numpy._core``). The legacy torch format keeps the pickle as bytes, so the names can be put back as NumPy 1 wrote
    them."""
    stream = io.BytesIO()
    torch.save({'log': np.arange(3.), 'seed': np.int64(7)}, stream, _use_new_zipfile_serialization=False)
    numpy2 = stream.getvalue()
    numpy1 = numpy2.replace(b'numpy._core.multiarray\n', b'numpy.core.multiarray\n')
    assert numpy1 != numpy2 and b'numpy._core' not in numpy1
    loaded = safe_load(numpy1)
    assert np.array_equal(loaded['log'], np.arange(3.)) and loaded['seed'] == 7 and type(loaded['seed']) is np.int64
