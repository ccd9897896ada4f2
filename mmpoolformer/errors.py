"""The errors a user can fix, and only those.

Each message is one line that names the file, key or value at fault and how to fix it. The command-line tools print a
:class:`UserError` as that one line (exit code 2, see :mod:`mmpoolformer.cli`); every other exception is a bug and
keeps its traceback. This module imports nothing from the package, so any module may use it.
"""


class UserError(Exception):
    """Base of the errors caused by an input the user can change: a config value, a file, a command-line flag."""


class ConfigError(UserError, ValueError):
    """A config or command-line value cannot be used."""


class CheckpointError(UserError, RuntimeError):
    """A weight file cannot be used: missing, unreadable, in an unknown layout, or not fitting the model."""


class UnsafeCheckpointError(CheckpointError):
    """The file can only be loaded by full unpickling, which could run code from it; ``needs`` says what of it safe
    loading refused (e.g. ``io.open``)."""

    def __init__(self, message: str, needs: str):
        super().__init__(message)
        self.needs = needs


class FastInferenceError(ConfigError):
    """The requested fast path cannot run here (no bf16 on this CPU, no C++ compiler, ...)."""


class DataError(UserError, ValueError):
    """A data set, annotation file or image cannot be used."""


class DeviceError(UserError, RuntimeError):
    """The machine cannot run what was asked: out of GPU memory, mmcv without its CUDA operators, too few GPUs."""


class FileWriteError(UserError, OSError):
    """A checkpoint or other output file could not be written completely (nothing under its final name changed)."""
