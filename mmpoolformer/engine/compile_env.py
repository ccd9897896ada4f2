"""What ``torch.compile`` needs from the machine, for inference (:mod:`.acceleration`) and training (``--compile``):
a C++ compiler on CPU, and a persistent folder for inductor's compiled kernels."""
import os
import os.path as osp
import subprocess

from ..errors import FastInferenceError


def default_cache_dir() -> str:
    """``$MMPF_CACHE/inductor`` (default ``~/.cache/mmpoolformer/inductor``)."""
    return osp.join(os.environ.get('MMPF_CACHE', osp.expanduser('~/.cache/mmpoolformer')), 'inductor')


def use_persistent_compile_cache() -> str:
    """Point inductor's on-disk kernel cache at a persistent folder, unless ``TORCHINDUCTOR_CACHE_DIR`` names
    another folder than torch's default (a temporary folder, which inductor itself writes into the variable)."""
    from torch._inductor.runtime.cache_dir_utils import default_cache_dir as torch_default
    current = os.environ.get('TORCHINDUCTOR_CACHE_DIR')
    if current is None or osp.abspath(current) == osp.abspath(torch_default()):
        os.environ['TORCHINDUCTOR_CACHE_DIR'] = default_cache_dir()
    return os.environ['TORCHINDUCTOR_CACHE_DIR']


def check_cpp_compiler() -> str:
    """The C++ compiler inductor will use on CPU; a missing one is a one-line error instead of a failure at the
    first forward pass."""
    cxx = os.environ.get('CXX') or 'g++'
    try:
        subprocess.run([cxx, '--version'], capture_output=True, check=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        raise FastInferenceError(f"torch.compile on CPU needs a C++ compiler and '{cxx}' does not run; install one "
                                 f"(e.g. apt-get install g++) or set CXX, or drop --compile") from None
    return cxx
