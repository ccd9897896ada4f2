"""Reading weight files: a path or URL resolved to a local file once, then read safely, never executing code from a
file unless told it is trusted (which files to trust: :mod:`.trust`)."""
import hashlib
import os
import os.path as osp
import pickle
import re
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from typing import Any, Callable, Optional, Union

import torch

from ..errors import CheckpointError, UnsafeCheckpointError

DOWNLOAD_TIMEOUT_S = 20
GENERIC_NAMES = ('model.safetensors', 'pytorch_model.bin')
MapLocation = Union[str, torch.device, Callable, dict]  # what torch.load's map_location takes


def cached_download(url: str) -> str:
    """Return a local copy of ``url`` from torch's hub cache (``$TORCH_HOME/hub/checkpoints``), downloading it once.

    The download goes to a temporary name and is renamed when complete, so an interrupted one is never used.
    """
    cache_dir = osp.join(torch.hub.get_dir(), 'checkpoints')
    target = osp.join(cache_dir, cache_name(url))
    if osp.isfile(target):
        return target
    os.makedirs(cache_dir, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=cache_dir, prefix='.download-')
    try:
        with os.fdopen(fd, 'wb') as out, urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            shutil.copyfileobj(response, out)
        os.replace(partial, target)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise CheckpointError(
            f'could not download {url} ({getattr(exc, "reason", exc)}); download it on a machine with internet and '
            f'put it at {target}, or set the checkpoint to a local file (e.g. --cfg-options '
            f'model.backbone.init_cfg.checkpoint=/path/to/file), or train from scratch with '
            f'model.backbone.init_cfg=None') from None
    finally:
        if osp.exists(partial):
            os.remove(partial)
    return target


def cache_name(url: str) -> str:
    """The file name a download of ``url`` is cached under: its own name, or for the hub's generic names
    (``model.safetensors``, ``pytorch_model.bin``) the repository's name before it, e.g.
    ``.../timm/caformer_s18.sail_in1k/resolve/main/model.safetensors`` ->
    ``caformer_s18.sail_in1k-model.safetensors``."""
    parts = url.split('?')[0].rstrip('/').split('/')
    if parts[-1] in GENERIC_NAMES and 'resolve' in parts:
        return f"{parts[parts.index('resolve') - 1]}-{parts[-1]}"
    return parts[-1]


# what transformers' save_pretrained writes beside its config.json, in the order it prefers them
HUGGING_FACE_WEIGHTS = ('model.safetensors', 'pytorch_model.bin')


def hugging_face_weights_in(folder: str) -> Optional[str]:
    """The weight file of a Hugging Face model folder (``config.json`` beside one of :data:`HUGGING_FACE_WEIGHTS`),
    else None."""
    if not osp.isfile(osp.join(folder, 'config.json')):
        return None
    return next((osp.join(folder, name) for name in HUGGING_FACE_WEIGHTS if osp.isfile(osp.join(folder, name))), None)


def resolve_path(path_or_url: str) -> str:
    """Local path of a weight file given as a path or an http(s) URL (a Hugging Face model folder: its weight file);
    a missing local file is an error."""
    if re.match(r'^https?://', str(path_or_url)):
        return cached_download(path_or_url)
    path = osp.expanduser(str(path_or_url))
    if osp.isdir(path) and hugging_face_weights_in(path):
        return hugging_face_weights_in(path)
    if osp.isdir(path):
        inside = _newest_checkpoint_in(path)
        hint = f'pass a checkpoint file in it, e.g. {inside}' if inside else 'pass the path of a checkpoint file'
        raise CheckpointError(f'checkpoint {path} is a directory, not a checkpoint file; {hint}')
    if not osp.isfile(path):
        raise CheckpointError(f'checkpoint {path} does not exist; check the path (or pass an http(s) URL)')
    return path


def _newest_checkpoint_in(folder: str):
    """The checkpoint MMEngine's ``last_checkpoint`` pointer in ``folder`` names, else its newest ``.pth`` file."""
    try:
        with open(osp.join(folder, 'last_checkpoint')) as f:
            named = f.read().strip()
        if osp.isfile(named):
            return named
    except OSError:
        pass
    try:
        files = [osp.join(folder, n) for n in os.listdir(folder) if n.endswith('.pth') and not n.startswith('.')]
    except OSError:
        return None
    files = [f for f in files if osp.isfile(f)]
    return max(files, key=osp.getmtime) if files else None


def read_weights(path_or_url: str, trusted: bool = False, map_location: MapLocation = 'cpu') -> Any:
    """Load the torch weight file ``path_or_url`` (a path or http(s) URL, :func:`resolve_path`) onto the CPU or
    ``map_location``: :func:`read_local` of the resolved file."""
    return read_local(resolve_path(path_or_url), trusted, map_location)


def read_local(path: str, trusted: bool = False, map_location: MapLocation = 'cpu') -> Any:
    """Load the local torch weight file ``path`` (its tensors onto ``map_location``, as ``torch.load`` takes it).

    Files are read with ``torch.load(weights_only=True)``, which cannot run code (safetensors files, e.g. timm's
    hub ``model.safetensors``, with the safetensors reader). A file that needs full unpickling
    is refused unless ``trusted=True``. A truncated or non-torch file is refused with a one-line reason.
    """
    if is_safetensors(path):
        return read_safetensors(path, map_location if isinstance(map_location, str) else 'cpu')
    try:
        return torch.load(path, map_location=map_location, weights_only=not trusted)
    except pickle.UnpicklingError as exc:
        needed = re.search(r'GLOBAL ([\w.]+)', str(exc))
        if 'weights_only' in str(exc).lower() or needed:
            needs = needed.group(1) if needed else 'objects other than tensors'
            raise UnsafeCheckpointError(
                f'checkpoint {path} needs {needs}, which safe loading refuses (unpickling it could run code from the '
                f'file); only if you trust the file, load it with trusted=True (init_cfg=dict(type="Pretrained", '
                f'checkpoint=..., trusted=True), or tools/convert_checkpoint.py --trusted)', needs) from None
        raise CheckpointError(f'checkpoint {path} is corrupt or not a torch file ({exc}); download or save it '
                              f'again') from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f'checkpoint {path} is truncated or not a torch file ({reason}); download or save it '
                              f'again') from None


def is_safetensors(path: str) -> bool:
    """A safetensors file (possibly truncated): an 8-byte little-endian header length (under 1 GiB), then a JSON
    header (``{``). A torch file starts with a zip or pickle signature instead."""
    with open(path, 'rb') as f:
        head = f.read(9)
    return len(head) == 9 and head[8:9] == b'{' and int.from_bytes(head[:8], 'little') < 1 << 30


def read_safetensors(path: str, device: str = 'cpu') -> dict:
    """The tensors of a safetensors file (e.g. a hub ``model.safetensors``), on ``device``; the format holds no
    code."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    try:
        return load_file(path, device=device)
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f'checkpoint {path} is truncated or not a safetensors file ({exc}); download it '
                              f'again') from None


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()
