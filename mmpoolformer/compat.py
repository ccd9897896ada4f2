"""What the toolbox works around in the installed OpenMMLab stack, applied by ``import mmpoolformer`` (which
``custom_imports`` runs before any model is built), never by changing an installed package.

- **transformers 5 and mmpretrain 1.2.** mmpretrain imports its multimodal models (BLIP, Flamingo, ...) whenever
  transformers >= 4.28 and pycocotools are installed; they import
  ``transformers.modeling_utils.apply_chunking_to_forward`` and other names that recent transformers (4.56 on, and 5)
  no longer has, and ``import mmpretrain.models`` then fails
  (``class BertPreTrainedModel(PreTrainedModel)``: ``TypeError: NoneType takes no arguments``). mmdet 3.3 imports
  mmpretrain whenever it is installed, so ``import mmdet.models`` fails too, and every tool with it. Where the
  installed transformers lacks that name, mmpretrain's switch (``mmpretrain.utils.dependency.WITH_MULTIMODAL``) is set
  to False as mmpretrain sets it when transformers is absent: its multimodal models become placeholders that ask for a
  compatible transformers when built, and everything else imports and trains.

:data:`NOTES` holds one line per workaround applied; ``mmpoolformer env`` prints them.
"""
import importlib.metadata
import importlib.util
import os.path as osp
import sys
from typing import List, Optional

from _mmpoolformer_configs import after_import  # the import hook the config bases use too

NOTES: List[str] = []
_DEPENDENCY = 'mmpretrain.utils.dependency'
_REMOVED_NAME = 'apply_chunking_to_forward'  # the first name mmpretrain's multimodal models import that is gone


def transformers_lacking_multimodal_names() -> Optional[str]:
    """The installed transformers' version if it lacks what mmpretrain 1.2's multimodal models import (its
    ``modeling_utils`` no longer has ``apply_chunking_to_forward``), else None (not installed, or compatible). Reads
    the package's source instead of importing it (importing transformers takes seconds)."""
    try:
        version = importlib.metadata.version('transformers')
        spec = importlib.util.find_spec('transformers')
    except (importlib.metadata.PackageNotFoundError, ValueError, ImportError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    source = osp.join(list(spec.submodule_search_locations)[0], 'modeling_utils.py')
    try:
        with open(source, encoding='utf-8') as f:
            has_name = _REMOVED_NAME in f.read()
    except OSError:
        has_name = False
    return None if has_name else version


def _multimodal_off(dependency_module) -> None:
    dependency_module.WITH_MULTIMODAL = False


def turn_off_incompatible_multimodal() -> None:
    """Turn mmpretrain's multimodal models off where the installed transformers cannot serve them (see the module
    doc); a note in :data:`NOTES` says so."""
    version = transformers_lacking_multimodal_names()
    if version is None:
        return
    if 'mmpretrain.models.multimodal' in sys.modules:  # imported already: too late to change anything
        return
    after_import(_DEPENDENCY, _multimodal_off)
    NOTES.append(f'transformers {version} is installed and lacks what mmpretrain 1.2\'s multimodal models import '
                 f'(modeling_utils.{_REMOVED_NAME}), so they are turned off (mmpretrain.utils.dependency.'
                 f'WITH_MULTIMODAL = False) and mmdet, mmseg and mmpretrain import; nothing installed was changed')


turn_off_incompatible_multimodal()
