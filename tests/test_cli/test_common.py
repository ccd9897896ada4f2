"""How a tool ends on an error (mmpoolformer/cli/): a user error is one line and exit code 2, a bug keeps its
traceback, MMPF_DEBUG=1 shows the traceback of user errors too."""
import pytest

from mmpoolformer.checkpoint import CheckpointError
from mmpoolformer.cli import DEBUG_HINT, run_cli
from mmpoolformer.datasets.loading import UnreadableImageError
from mmpoolformer.errors import ConfigError, UserError


def raising(exc):
    def main():
        raise exc
    return main


@pytest.mark.parametrize('exc', [ConfigError('key x does not exist; fix it'),
                                 CheckpointError('key x does not exist; fix it'),
                                 UnreadableImageError('key x does not exist; fix it')])
def test_user_error_ends_in_one_line_with_exit_code_2(exc, capsys, monkeypatch):
    monkeypatch.delenv('MMPF_DEBUG', raising=False)
    assert isinstance(exc, UserError)
    with pytest.raises(SystemExit) as exit_info:
        run_cli(raising(exc))
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == f'error: key x does not exist; fix it{DEBUG_HINT}\n'


def test_error_from_a_dataloader_worker_keeps_only_its_own_line(capsys, monkeypatch):
    monkeypatch.delenv('MMPF_DEBUG', raising=False)
    worker = UnreadableImageError('Caught UnreadableImageError in DataLoader worker process 0.\nOriginal Traceback '
                                  '(most recent call last):\n  File "x.py", line 1, in f\nmmpoolformer.datasets.loading'
                                  '.UnreadableImageError: image a.jpg is empty (0 bytes)\n')
    with pytest.raises(SystemExit):
        run_cli(raising(worker))
    assert capsys.readouterr().err == f'error: image a.jpg is empty (0 bytes){DEBUG_HINT}\n'


@pytest.mark.parametrize('exc', [KeyError('x'), ValueError('x'), IndexError('x'), AssertionError('x')])
def test_any_other_exception_is_a_bug_and_keeps_its_traceback(exc, monkeypatch):
    monkeypatch.delenv('MMPF_DEBUG', raising=False)
    with pytest.raises(type(exc)):
        run_cli(raising(exc))


def test_debug_variable_shows_the_traceback_of_user_errors(monkeypatch):
    monkeypatch.setenv('MMPF_DEBUG', '1')
    with pytest.raises(ConfigError, match='^key x$'):
        run_cli(raising(ConfigError('key x')))
