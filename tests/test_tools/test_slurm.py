"""The Slurm scripts on a real one-node Slurm of this machine (tests/slurm_cluster.py, a CPU partition): slurm_train.sh
trains 2 tasks with gloo, slurm_test.sh prints the metrics of tools/test.py, and a job of slurm_submit.sh requeued by
`scontrol requeue` inside an epoch and stopped by its time-limit signal inside another comes back by itself each time
and ends with the weights of the uninterrupted slurm_train.sh run, no iteration trained twice. Without a cluster:
GPUs are asked for only where the partition has them (sinfo, srun and sbatch stand-ins)."""
import os
import re
import signal
import subprocess
import time

import pytest

from tests.helpers import (
    ROOT,
    SIGNAL_HOOK_PATH,
    checkpoints_in,
    printed_metrics,
    run_tool_here,
    same_weights,
    stoppable_config,
    trained_iterations,
)
from tests.slurm_cluster import LocalSlurm, missing_programs

TASKS = dict(GPUS='2', GPUS_PER_NODE='2', CPUS_PER_TASK='1')
CPU_LINE = ('partition cpu has no GPUs (sinfo GRES: (null)): its 2 processes (2 per node) run on CPU with gloo, '
            '1 core(s) each')


@pytest.fixture(scope='module')
def slurm():
    missing = missing_programs()
    if missing:
        pytest.fail(f'no {", ".join(missing)}: these tests start a Slurm of this machine; run bash tools/setup.sh as '
                    f'root (it installs Debian\'s slurm-wlm and munge) or apt-get install slurm-wlm munge')
    with LocalSlurm() as cluster:
        yield cluster
        started = cluster.env['SLURM_CONF']
    assert not os.path.exists(started) and not processes_with(f'SLURM_CONF={started}')  # nothing left running


def processes_with(variable: str) -> list:
    """The processes with ``variable`` (NAME=VALUE) in their environment."""
    found = []
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open(f'/proc/{pid}/environ', 'rb') as f:
                if variable.encode() in f.read().split(b'\0'):
                    found.append(int(pid))
        except OSError:
            continue
    return found


@pytest.fixture(scope='module')
def config(tmp_path_factory):
    folder = tmp_path_factory.mktemp('slurm_config')
    return stoppable_config(folder, 3)


def script(slurm, *args, pace: str = '', **kwargs):
    """``bash ARGS`` against the cluster with 2 tasks; ``pace``: seconds each training iteration lasts at least."""
    env = dict(slurm.env, PYTHONWARNINGS='ignore', PYTHONPATH=SIGNAL_HOOK_PATH, PACE=pace, **TASKS)
    return subprocess.run(['bash', *map(str, args)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600, **kwargs)


@pytest.fixture(scope='module')
def uninterrupted(slurm, data16, config, tmp_path_factory):
    """3 epochs of 2 tasks through slurm_train.sh."""
    work = tmp_path_factory.mktemp('slurm_train') / 'work'
    proc = script(slurm, 'tools/slurm_train.sh', 'cpu', 'train', config, work, '--data-root', data16)
    return proc, work


def test_slurm_train_runs_two_tasks_on_cpu(uninterrupted):
    proc, work = uninterrupted
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr.splitlines()[0] == CPU_LINE
    assert 'no CUDA device: distributed training on CPU with gloo, rank 0 of 2' in proc.stdout
    assert checkpoints_in(work) == ['epoch_1.pth', 'epoch_2.pth', 'epoch_3.pth']
    assert trained_iterations(proc.stdout) == [(epoch, batch) for epoch in (1, 2, 3) for batch in (1, 2, 3, 4)]
    assert not [p for p in os.listdir(work) if p.startswith('.run-status')]


def test_slurm_test_prints_the_metrics_of_tools_test(slurm, uninterrupted, data16, config, tmp_path):
    _, work = uninterrupted
    proc = script(slurm, 'tools/slurm_test.sh', 'cpu', 'test', config, work / 'epoch_3.pth', '--data-root', data16,
                  '--work-dir', tmp_path / 'slurm')
    assert proc.returncode == 0, proc.stderr[-3000:]
    single = run_tool_here('tools/test.py', config, work / 'epoch_3.pth', '--data-root', data16, '--work-dir',
                           tmp_path / 'single')
    metrics = printed_metrics(proc.stdout)
    assert 'coco/bbox_mAP' in metrics and metrics == printed_metrics(single.stdout)
    assert len([line for line in proc.stdout.splitlines() if line.startswith('coco/bbox_mAP: ')]) == 1  # by rank 0


def test_ctrl_c_on_slurm_train_saves_the_position(slurm, data16, config, tmp_path):
    """Ctrl-C in the terminal (SIGINT to the script's process group) is passed on to the tasks through Slurm;
    srun, which would end the step at once on a second Ctrl-C, only reports on the first."""
    work, log = tmp_path / 'work', tmp_path / 'out.log'
    env = dict(slurm.env, PYTHONWARNINGS='ignore', PYTHONPATH=SIGNAL_HOOK_PATH, PACE='0.3', **TASKS)
    with open(log, 'w') as out:
        proc = subprocess.Popen(['bash', 'tools/slurm_train.sh', 'cpu', 'interactive', config, work, '--data-root',
                                 data16, '--cfg-options', 'train_cfg.max_epochs=20'], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    wait_for(lambda: (2, 1) in trained_iterations(log.read_text()) or proc.poll() is not None, 'epoch 2')
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=120) == 130
    text = log.read_text()
    stop = re.search(r'^stopped by Ctrl-C \(SIGINT\) at epoch (\d+), iteration (\d+) \(batch \d of 4 of the epoch\); '
                     r'saved (\S+); resume with (.+)$', text.splitlines()[-1])
    assert stop, text[-3000:]
    assert stop.group(3) == f'{work}/iter_{stop.group(2)}.pth' and os.path.isfile(stop.group(3))
    assert stop.group(4) == (f'GPUS=2 GPUS_PER_NODE=2 CPUS_PER_TASK=1 bash tools/slurm_train.sh cpu interactive '
                             f'{config} {work} --data-root {data16} --cfg-options train_cfg.max_epochs=20 --resume')
    assert 'SIGINT: passed on to the processes of job' in text and 'Traceback' not in text


def wait_for(condition, what, timeout=300):
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, f'timed out waiting for {what}'
        time.sleep(0.2)


def test_a_submitted_job_survives_requeue_and_its_time_limit(slurm, uninterrupted, data16, config, tmp_path):
    work = tmp_path / 'work'
    proc = script(slurm, 'tools/slurm_submit.sh', 'cpu', 'submitted', config, work, '--data-root', data16, pace='0.3')
    assert proc.returncode == 0, proc.stderr
    assert re.fullmatch(r'Submitted batch job \d+\n', proc.stdout) and proc.stderr.strip() == CPU_LINE
    job = proc.stdout.split()[-1]
    output = work / f'slurm-{job}.out'

    def trained():
        return trained_iterations(output.read_text()) if output.exists() else []

    def restart(count):
        """Slurm holds a requeued job back for about 2 minutes; the test lets it start after a few seconds (started
        less than a second after its earlier run ended, slurmd may refuse it: 'Job N already killed, do not launch
        batch job', and the job fails)."""
        wait_for(lambda: slurm.job(job)['JobState'] == 'PENDING' and slurm.job(job)['Restarts'] == str(count),
                 f'restart {count}')
        time.sleep(5)
        slurm.run('scontrol', 'update', f'JobId={job}', 'StartTime=now')

    # preemption / scontrol requeue inside epoch 1: SIGTERM to every process of the job
    wait_for(lambda: (1, 1) in trained(), 'epoch 1')
    slurm.run('scontrol', 'requeue', job)
    restart(1)
    # the time-limit signal inside epoch 2 (what --signal=USR1@SECONDS sends): the job requeues itself
    wait_for(lambda: (2, 1) in trained(), 'epoch 2 in the second run')
    slurm.run('scancel', '--signal=USR1', job)
    restart(2)
    final = slurm.wait_for_job(job)
    assert (final['JobState'], final['ExitCode']) == ('COMPLETED', '0:0'), f'{final}\n{output.read_text()[-3000:]}' \
                                                                            f'\n{slurm.logs()}'

    log = output.read_text()
    runs = re.findall(r'^\[job \d+\] run (\d+) on ', log, re.M)
    assert runs == ['1', '2', '3']
    stops = re.findall(r'^stopped by (.+?) at epoch (\d), iteration (\d+) \(batch (\d) of 4 of the epoch\); saved '
                       r'(\S+); resume with (.+)$', log, re.M)
    assert [(reason, epoch) for reason, epoch, *_ in stops] == [
        ('SIGTERM', '1'), ("SIGUSR1 (the job's time limit is near)", '2')], log[-5000:]
    for _, _, _, batch, saved, command in stops:
        assert 0 < int(batch) < 4 and saved.startswith(str(work))
        assert command == (f'GPUS=2 GPUS_PER_NODE=2 CPUS_PER_TASK=1 bash tools/slurm_submit.sh cpu submitted {config} '
                           f'{work} --data-root {data16} --resume')
    assert f'[job {job}] the time limit is near: requeued, the next run resumes from {stops[1][4]}' in log
    assert trained_iterations(log) == [(epoch, batch) for epoch in (1, 2, 3) for batch in (1, 2, 3, 4)]
    assert same_weights(uninterrupted[1] / 'epoch_3.pth', work / 'epoch_3.pth')
    # the stop checkpoints were removed once later ones were complete; nothing of the runs is left behind
    assert checkpoints_in(work) == ['epoch_1.pth', 'epoch_2.pth', 'epoch_3.pth']
    assert not [p for p in os.listdir(work) if p.startswith(('.run-status', '.mmpoolformer.lock'))]


STAND_IN = '''#!/usr/bin/env bash
# {name} as the test needs it: its arguments go to {log}
echo {name} "$@" >> {log}
[ {name} = sinfo ] && echo "$PARTITION_GRES"
[ {name} = sbatch ] && echo "Submitted batch job 42"
exit 0
'''


@pytest.mark.parametrize('gres', ['gpu:8', '(null)'])
def test_gpus_are_asked_for_only_where_the_partition_has_them(gres, tmp_path):
    """sinfo, srun and sbatch replaced by stand-ins that note their arguments (no cluster needed)."""
    bin_dir, log = tmp_path / 'bin', tmp_path / 'calls.log'
    bin_dir.mkdir()
    for name in ('sinfo', 'srun', 'sbatch'):
        (bin_dir / name).write_text(STAND_IN.format(name=name, log=log))
        (bin_dir / name).chmod(0o755)
    env = dict(os.environ, PATH=f'{bin_dir}:{os.environ["PATH"]}', PARTITION_GRES=gres, **TASKS)
    for tool in ('slurm_train.sh', 'slurm_submit.sh'):
        proc = subprocess.run(['bash', f'tools/{tool}', 'part', 'job', 'c.py', tmp_path / 'work'], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        cpu_note = ('partition part has no GPUs (sinfo GRES: (null)): its 2 processes (2 per node) run on CPU with '
                    'gloo, 1 core(s) each')
        assert proc.stderr.strip() == ('' if gres.startswith('gpu') else cpu_note)
    calls = log.read_text().splitlines()
    srun = next(c for c in calls if c.startswith('srun ')).split()
    sbatch = next(c for c in calls if c.startswith('sbatch ')).split()
    for call in (srun, sbatch):
        assert {'--ntasks=2', '--ntasks-per-node=2', '--cpus-per-task=1'} <= set(call)
        assert ('--gres=gpu:2' in call) == gres.startswith('gpu')
    assert {'--requeue', '--signal=USR1@300', '--open-mode=append',
            f'--output={tmp_path}/work/slurm-%j.out'} <= set(sbatch)
