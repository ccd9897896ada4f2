"""mmpoolformer/cli/main.py: the ``mmpoolformer`` command and ``python -m mmpoolformer`` (the same), subcommand by
subcommand; the installed command itself is run by tests/test_packaging.py."""
import os
import subprocess
import sys

from mmpoolformer.cli.main import SUBCOMMANDS
from tests.helpers import ROOT


def command(*args, cwd=ROOT):
    return subprocess.run([sys.executable, '-m', 'mmpoolformer', *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, PYTHONWARNINGS='ignore'))


def test_usage_names_every_subcommand_and_a_wrong_one_is_one_line():
    proc = command()
    assert proc.returncode == 2
    assert [line.split()[0] for line in proc.stdout.splitlines()[2:2 + len(SUBCOMMANDS)]] == list(SUBCOMMANDS)
    assert {'train', 'test', 'demo', 'convert', 'env'} <= set(SUBCOMMANDS)
    proc = command('trian')
    assert proc.returncode == 2 and proc.stderr.strip() == (
        "error: mmpoolformer has no subcommand 'trian'; choose one of train, test, demo, convert, configs, env")


def test_each_tool_subcommand_takes_the_tools_arguments(tmp_path):
    for name, tool in (('train', 'tools/train.py'), ('test', 'tools/test.py'), ('demo', 'tools/demo.py'),
                       ('convert', 'tools/convert_checkpoint.py')):
        ours = command(name, '--help', cwd=tmp_path)
        theirs = subprocess.run([sys.executable, tool, '--help'], cwd=ROOT, capture_output=True, text=True)
        assert ours.returncode == 0 and ours.stdout.startswith(f'usage: mmpoolformer {name} ')
        assert ours.stdout.split('\n\n', 1)[1] == theirs.stdout.split('\n\n', 1)[1], name  # the same options
    proc = command('convert', str(tmp_path / 'missing.pth'), str(tmp_path / 'out.pth'), cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.splitlines()[-1].startswith(
        f'error: checkpoint {tmp_path / "missing.pth"} does not exist')


def test_configs_lists_every_packaged_config_as_a_base_name():
    proc = command('configs')
    listed = proc.stdout.splitlines()
    expected = sorted(f'mmpoolformer::{os.path.relpath(os.path.join(d, f), f"{ROOT}/configs")}'
                      for d, _, files in os.walk(f'{ROOT}/configs') for f in files if f.endswith('.py'))
    assert sorted(listed) == expected and 'mmpoolformer::retinanet_poolformer_s12_fpn_coco.py' in listed


def test_env_prints_the_stack():
    lines = command('env').stdout.splitlines()
    assert [line.split(':')[0] for line in lines][:3] == ['python', 'platform', 'torch']
    assert any(line.startswith('mmcv compiled ops: load') for line in lines)
