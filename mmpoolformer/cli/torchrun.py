"""torchrun for this toolbox's tools (``tools/dist_train.sh``, ``tools/dist_test.sh``): the same arguments and the same
run, but its end is one line instead of torchrun's traceback and failure table.

- A process that dies (SIGKILL, the out-of-memory killer, an exception) makes torchrun stop the others, as before;
  then this prints which rank ended and how (the signal, or the exit code and the exception's own line), the last
  checkpoint in the work dir, and the command that resumes (the launch script's ``MMPF_LAUNCH_COMMAND`` with
  ``--resume``), and exits with 1.
- A stop signal (SIGTERM or Ctrl-C to torchrun, which passes it on; or to the workers) makes the workers save their
  position; the line is then rank 0's (where it stopped, what it saved, how to resume) and the exit code the
  workers' (128 + the signal). If they could not finish within torchrun's grace time
  (``TORCH_ELASTIC_SHUTDOWN_TIMEOUT``, default 30 s) the line says so.
- Where the failed ranks ended with a user error, the line is that error, once.

Each rank reports how it ended through :mod:`.run_status` (a temporary folder this sets in ``MMPF_RUN_STATUS``).

Run as ``python -m mmpoolformer.cli.torchrun [torchrun args] TOOL.py [tool args]``.
"""
import os
import os.path as osp
import shutil
import sys
import tempfile

from .run_status import ENV, final_line, next_step, read_all, stop_code


def main(argv=None) -> None:
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    args = parse_args(argv)
    world_size = int(str(args.nnodes).split(':')[-1]) * int(args.nproc_per_node)
    training = osp.basename(args.training_script) == 'train.py'
    folder = tempfile.mkdtemp(prefix='mmpf-run-')
    os.environ[ENV] = folder
    try:
        run(args)
    except ChildFailedError as exc:
        reports = read_all(folder)
        failures = exc.failures
        print(final_line(reports, world_size, training, {rank: f.exitcode for rank, f in failures.items()},
                         {rank: f.timestamp for rank, f in failures.items()}), file=sys.stderr)
        codes = {f.exitcode for f in failures.values()}
        sys.exit(stop_code(reports) or (2 if codes == {2} else 1))
    except SignalException as exc:  # a signal to torchrun itself, passed on to the workers
        reports = read_all(folder)
        if any(r.get('ended') == 'stopped' and r.get('line') for r in reports.values()):
            print(final_line(reports, world_size, training), file=sys.stderr)
        else:
            grace = os.environ.get('TORCH_ELASTIC_SHUTDOWN_TIMEOUT', '30')
            print(f'stopped by {exc.sigval.name}: the processes did not end within {grace} s '
                  f'(TORCH_ELASTIC_SHUTDOWN_TIMEOUT) and were killed, so nothing new was saved; '
                  f'{next_step(reports, training)}', file=sys.stderr)
        sys.exit(128 + int(exc.sigval))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == '__main__':
    main()
