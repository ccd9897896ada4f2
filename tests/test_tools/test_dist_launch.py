"""tools/dist_train.sh (torchrun through mmpoolformer.cli.torchrun) on CPU: a rank that dies ends the run in one line
(which rank, how, the last checkpoint, the command that resumes) with no launcher traceback; SIGTERM to the launcher
saves the position mid-epoch and the resumed run ends with the weights of an uninterrupted one; two "nodes" on
localhost train together."""
import os
import signal
import subprocess
import threading
import time

from tests.helpers import (
    ROOT,
    SIGNAL_HOOK_PATH,
    checkpoints_in,
    free_port,
    same_weights,
    stoppable_config,
    trained_iterations,
)


def launch(script_args, env=None, **kwargs):
    full_env = dict(os.environ, PYTHONWARNINGS='ignore', OMP_NUM_THREADS='1', PYTHONPATH=SIGNAL_HOOK_PATH,
                    **(env or {}))
    return subprocess.Popen(['bash', *map(str, script_args)], cwd=ROOT, env=full_env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def finish(proc, timeout=600):
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


class Output:
    """A process's output, read in a thread as it comes."""

    def __init__(self, stream):
        self.chunks = []
        self.thread = threading.Thread(target=lambda: self.chunks.extend(iter(stream.readline, '')), daemon=True)
        self.thread.start()

    def text(self) -> str:
        return ''.join(self.chunks)


def last_line(err: str) -> str:
    return [line for line in err.splitlines() if line.strip()][-1]


def worker_pids(work, rank):
    """The training process of ``rank`` writing to ``work``."""
    found = []
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open(f'/proc/{pid}/cmdline', 'rb') as f:
                cmdline = f.read().split(b'\0')
            with open(f'/proc/{pid}/environ', 'rb') as f:
                environ = f.read().split(b'\0')
        except OSError:
            continue
        if str(work).encode() in cmdline and b'tools/train.py' in b' '.join(cmdline) and \
                f'LOCAL_RANK={rank}'.encode() in environ:
            found.append(int(pid))
    return found


def wait_for(condition, timeout=300):
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, 'timed out'
        time.sleep(0.2)


def test_a_killed_rank_ends_the_run_in_one_line(data16, tmp_path):
    config, work, port = stoppable_config(tmp_path, 50), tmp_path / 'work', free_port()
    proc = launch(['tools/dist_train.sh', config, 2, '--work-dir', work, '--data-root', data16],
                  env=dict(PORT=str(port), PACE='0.1'))
    wait_for(lambda: (work / 'epoch_1.pth').exists() or proc.poll() is not None)
    victim = worker_pids(work, 1)
    assert len(victim) == 1, victim
    os.kill(victim[0], signal.SIGKILL)
    killed_at = time.time()
    result = finish(proc)
    assert time.time() - killed_at < 30  # the other rank was stopped
    assert result.returncode == 1
    assert 'Traceback' not in result.stderr and 'ChildFailedError' not in result.stderr, result.stderr[-3000:]
    last = (work / 'last_checkpoint').read_text()
    assert last_line(result.stderr) == (
        f'rank 1 of 2 was killed by SIGKILL (the out-of-memory killer, or kill -9); the other processes were '
        f'stopped; last checkpoint: {last}; resume with PORT={port} bash tools/dist_train.sh {config} 2 --work-dir '
        f'{work} --data-root {data16} --resume')
    assert not worker_pids(work, 0)


def test_an_exception_on_one_rank_ends_training_or_testing_in_one_line_with_its_message(data16, tmp_path):
    config, work, port = stoppable_config(tmp_path, 2), tmp_path / 'work', free_port()
    result = finish(launch(['tools/dist_train.sh', config, 2, '--work-dir', work, '--data-root', data16],
                           env=dict(PORT=str(port), FAIL_AT='6:1')))
    assert result.returncode == 1
    assert 'RuntimeError: injected failure at iteration 6' in result.stderr  # rank 1's own traceback (a bug's)
    assert 'ChildFailedError' not in result.stderr
    assert last_line(result.stderr) == (
        f'rank 1 of 2 ended with exit code 1 (RuntimeError: injected failure at iteration 6); the other processes '
        f'were stopped; last checkpoint: {work}/epoch_1.pth; resume with PORT={port} bash tools/dist_train.sh '
        f'{config} 2 --work-dir {work} --data-root {data16} --resume')
    # the same through tools/dist_test.sh: the line says how to run it again
    tested = finish(launch(['tools/dist_test.sh', config, work / 'epoch_1.pth', 2, '--work-dir', work, '--data-root',
                            data16], env=dict(PORT=str(port), FAIL_IN_TEST='1')))
    assert tested.returncode == 1 and 'ChildFailedError' not in tested.stderr
    assert last_line(tested.stderr) == (
        f'rank 1 of 2 ended with exit code 1 (RuntimeError: injected failure in testing); the other processes were '
        f'stopped; run it again with PORT={port} bash tools/dist_test.sh {config} {work}/epoch_1.pth 2 --work-dir '
        f'{work} --data-root {data16}')


def test_sigterm_to_the_launcher_mid_epoch_then_resume_equals_two_nodes_that_were_never_stopped(data16, tmp_path):
    """The reference is the same 2-process run as two "nodes" of one process each on localhost (NNODES=2)."""
    config = stoppable_config(tmp_path, 3)
    nodes, stopped = tmp_path / 'nodes', tmp_path / 'stopped'
    port = free_port()
    common = ['--work-dir', nodes, '--data-root', data16]
    both = [launch(['tools/dist_train.sh', config, 1, *common],
                   env=dict(NNODES='2', NODE_RANK=str(rank), MASTER_ADDR='127.0.0.1', PORT=str(port)))
            for rank in (0, 1)]
    results = [finish(proc) for proc in both]
    assert [r.returncode for r in results] == [0, 0], results[0].stderr[-3000:] + results[1].stderr[-3000:]
    assert 'rank 0 of 2' in results[0].stdout + results[0].stderr
    assert checkpoints_in(nodes)[-1] == 'epoch_3.pth'

    port = free_port()
    common = ['--work-dir', stopped, '--data-root', data16]
    proc = launch(['tools/dist_train.sh', config, 2, *common], env=dict(PORT=str(port), PACE='0.3'))
    out = Output(proc.stdout)
    wait_for(lambda: proc.poll() is not None or (2, 1) in trained_iterations(out.text()))
    proc.send_signal(signal.SIGTERM)  # to torchrun, which passes it on to both workers
    err = proc.stderr.read()
    proc.wait(timeout=300)
    out.thread.join()
    out = out.text()
    assert proc.returncode == 143, err[-3000:]
    line = last_line(err)
    assert line.startswith('stopped by SIGTERM at epoch 2, iteration ') and ' of 4 of the epoch); saved ' in line
    assert line.endswith(f'; resume with PORT={port} bash tools/dist_train.sh {config} 2 --work-dir {stopped} '
                         f'--data-root {data16} --resume')
    assert 'Traceback' not in err
    saved = [name for name in checkpoints_in(stopped) if name.startswith('iter_')]
    assert len(saved) == 1 and 4 < int(saved[0][5:-4]) < 8  # inside epoch 2

    resumed = finish(launch(['tools/dist_train.sh', config, 2, *common, '--resume'], env=dict(PORT=str(port))))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    done = trained_iterations(out) + trained_iterations(resumed.stdout + resumed.stderr)
    assert done == [(epoch, batch) for epoch in (1, 2, 3) for batch in (1, 2, 3, 4)]
    assert same_weights(nodes / 'epoch_3.pth', stopped / 'epoch_3.pth')
