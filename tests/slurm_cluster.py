"""A real one-node Slurm cluster of this machine, for the tests of the Slurm scripts.

:class:`LocalSlurm` starts Debian's ``munged``, ``slurmctld`` and ``slurmd`` (``tools/setup.sh`` installs
``slurm-wlm`` and ``munge`` when run as root) in the foreground, with their own munge key and socket, a generated
``slurm.conf`` (free ports, this host's name, one CPU partition ``cpu`` without GPUs, ``KillWait`` as given) and
every state, spool, pid and log file in one temporary folder; clients reach it through ``SLURM_CONF``
(:attr:`LocalSlurm.env`). :meth:`LocalSlurm.stop` cancels what still runs, stops the daemons and every process they
started, and removes the folder: nothing keeps running.
"""
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time

from tests.helpers import free_port

DAEMONS = ('munged', 'slurmctld', 'slurmd')


def program(name: str) -> str:
    """The path of a Slurm or munge program (the daemons live in /usr/sbin, which a user's PATH may lack)."""
    return shutil.which(name) or f'/usr/sbin/{name}'


def missing_programs() -> list:
    return [name for name in (*DAEMONS, 'srun', 'sbatch', 'scontrol', 'sinfo', 'squeue', 'scancel')
            if not os.access(program(name), os.X_OK)]


CONF = """ClusterName=mmpftest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={folder}/munge/munge.socket
SlurmUser={user}
SlurmdUser=root
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldLogFile={folder}/slurmctld.log
SlurmdLogFile={folder}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
KillWait={kill_wait}
MinJobAge=3600
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=1000 State=UNKNOWN
PartitionName=cpu Nodes={host} Default=YES State=UP OverSubscribe=YES MaxTime=INFINITE
"""


class LocalSlurm:
    """A one-node Slurm cluster; use as a context manager or call :meth:`start` / :meth:`stop`."""

    def __init__(self, kill_wait: int = 30):
        self.kill_wait = kill_wait
        self.host = socket.gethostname().split('.')[0]
        self.folder = None
        self.procs = {}
        self.env = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self) -> None:
        # munged insists that every folder above its socket is searchable by all, so not under pytest's 0700 folder
        self.folder = tempfile.mkdtemp(prefix='mmpf-slurm-')
        os.chmod(self.folder, 0o755)
        for name in ('munge', 'state', 'spool'):
            os.makedirs(os.path.join(self.folder, name), mode=0o755)
        key = os.path.join(self.folder, 'munge.key')
        with open(key, 'wb') as f:
            f.write(os.urandom(1024))
        os.chmod(key, stat.S_IRUSR)
        conf = os.path.join(self.folder, 'slurm.conf')
        with open(conf, 'w') as f:
            f.write(CONF.format(host=self.host, folder=self.folder, ctld_port=free_port(), slurmd_port=free_port(),
                                user=os.environ.get('USER') or 'root', kill_wait=self.kill_wait,
                                cpus=os.cpu_count() or 2))
        self.env = dict(os.environ, SLURM_CONF=conf)
        munge = os.path.join(self.folder, 'munge')
        self._spawn('munged', [program('munged'), '-F', f'--socket={munge}/munge.socket', f'--key-file={key}',
                               f'--pid-file={munge}/munged.pid', f'--seed-file={munge}/seed',
                               f'--log-file={self.folder}/munged.log'])
        self._wait_for(lambda: os.path.exists(f'{munge}/munge.socket'), 'munged')
        self._spawn('slurmctld', [program('slurmctld'), '-D', '-i', '-f', conf])
        self._spawn('slurmd', [program('slurmd'), '-D', '-f', conf, '-N', self.host])
        self._wait_for(lambda: self.run('sinfo', '-h', '-o', '%T', check=False).stdout.strip() == 'idle',
                       'the node to be idle')

    def _spawn(self, name: str, cmd: list) -> None:
        log = open(os.path.join(self.folder, f'{name}.out'), 'w')
        self.procs[name] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                            start_new_session=True)
        log.close()

    def _wait_for(self, ready, what: str, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while not ready():
            dead = [name for name, proc in self.procs.items() if proc.poll() is not None]
            if dead or time.time() > deadline:
                logs = self.logs()
                self.stop()
                raise RuntimeError(f'local Slurm: waiting for {what} failed ({", ".join(dead) or "timeout"} ended)'
                                   f'\n{logs}')
            time.sleep(0.2)

    def logs(self) -> str:
        text = []
        for name in ('munged.out', 'munged.log', 'slurmctld.out', 'slurmctld.log', 'slurmd.out', 'slurmd.log'):
            path = os.path.join(self.folder or '', name)
            if os.path.isfile(path):
                with open(path, errors='replace') as f:
                    text.append(f'--- {name}\n' + ''.join(f.readlines()[-25:]))
        return '\n'.join(text)

    def run(self, *cmd, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        """A Slurm client command against this cluster."""
        proc = subprocess.run(list(cmd), capture_output=True, text=True, env=self.env, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f'{cmd} exited {proc.returncode}: {proc.stdout}{proc.stderr}')
        return proc

    def job(self, job_id: str) -> dict:
        """``scontrol show job`` as a dict of its KEY=VALUE fields."""
        text = self.run('scontrol', 'show', 'job', '-o', str(job_id)).stdout
        return dict(field.split('=', 1) for field in text.split() if '=' in field)

    def wait_for_job(self, job_id: str, states=('COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT'),
                     timeout: float = 300) -> dict:
        deadline = time.time() + timeout
        while True:
            job = self.job(job_id)
            if job['JobState'] in states or time.time() > deadline:
                return job
            time.sleep(0.5)

    def stop(self) -> None:
        if self.folder is None:
            return
        if 'slurmctld' in self.procs and self.procs['slurmctld'].poll() is None:
            self.run('scancel', '--full', '-u', os.environ.get('USER') or 'root', check=False)
        for name in reversed(DAEMONS):
            proc = self.procs.get(name)
            if proc is None:
                continue
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            try:  # the daemon's session: the job steps slurmd started (slurmstepd and its tasks)
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._kill_leftovers()
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder, self.procs = None, {}

    def _kill_leftovers(self) -> None:
        """Any process still running with this cluster's configuration in its environment (a job step's slurmstepd
        and tasks, which leave the daemons' sessions)."""
        mark = b'SLURM_CONF=' + self.env['SLURM_CONF'].encode()
        for pid in filter(str.isdigit, os.listdir('/proc')):
            try:
                with open(f'/proc/{pid}/environ', 'rb') as f:
                    if mark in f.read().split(b'\0') and int(pid) != os.getpid():
                        os.kill(int(pid), signal.SIGKILL)
            except OSError:
                continue
