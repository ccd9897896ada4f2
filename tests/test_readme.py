"""The README reads in minutes and its commands still run as written: under 250 lines, every linked file exists,
every tool it names exists and takes the flags it shows (checked against the tool's own --help), every repository
path it passes exists, and the commands that run on CPU in seconds are run."""
import os
import re
import runpy
import shlex
import subprocess
import sys

import pytest

from tests.helpers import ROOT

README = os.path.join(ROOT, 'README.md')
RUN_AS_WRITTEN = ['python -m mmpoolformer env']  # seconds on CPU: run, must exit 0


def readme_commands():
    """Every command of the README's ``bash`` blocks: continuation lines joined, comments dropped, ``&&`` split."""
    text = open(README).read()
    commands = []
    for block in re.findall(r'```bash\n(.*?)```', text, re.S):
        for line in block.replace('\\\n', ' ').splitlines():
            line = re.sub(r'\s#.*$|^#.*$', '', line).strip()
            commands += [part.strip() for part in line.split('&&') if part.strip()]
    return commands


def tool_help(capsys, script: str) -> str:
    """What ``python SCRIPT --help`` prints, run in this process (the imports are shared, so it takes no time)."""
    argv = sys.argv
    sys.argv = [script, '--help']
    try:
        with pytest.raises(SystemExit) as exit_info:
            runpy.run_path(os.path.join(ROOT, script), run_name='__main__')
    finally:
        sys.argv = argv
    assert exit_info.value.code in (0, None), script
    return capsys.readouterr().out


def test_readme_is_short_and_links_exist():
    text = open(README).read()
    assert len(text.splitlines()) < 250
    targets = re.findall(r'\]\(([^)#]+)\)', text)
    assert 'docs/web_demo.png' in targets and len(targets) >= 12
    missing = [t for t in targets if not t.startswith('http') and not os.path.exists(os.path.join(ROOT, t))]
    assert missing == []
    for heading in ('## Two commands', '## Web demo', '## Model zoo', '## Use PoolFormer in your own detector',
                    '## Weights', '## Speed', '## Analysis', '## Deployment', '## Classification and ablations',
                    '## Reliability', '## Development'):
        assert f'\n{heading}\n' in text, heading


def test_readme_commands_exist_with_their_flags(capsys):
    commands = readme_commands()
    assert 'bash tools/setup.sh' in commands and 'bash tools/quickstart.sh retinanet' in commands
    quickstart = open(os.path.join(ROOT, 'tools', 'quickstart.sh')).read()
    checked = 0
    for command in commands:
        tokens = shlex.split(command)
        if tokens[0] == 'bash':
            assert os.path.isfile(os.path.join(ROOT, tokens[1])), command
            if tokens[1] == 'tools/quickstart.sh' and len(tokens) > 2:
                assert re.search(rf'^\s*(\S+\|)?{tokens[2]}\)|"\$MODEL" = {tokens[2]} ', quickstart, re.M), command
            continue
        assert tokens[0] in ('.venv/bin/python', 'python'), command
        if tokens[1] == '-m':
            assert tokens[2] in ('pytest', 'mmpoolformer'), command
            continue
        script, args = tokens[1], tokens[2:]
        assert os.path.isfile(os.path.join(ROOT, script)), command
        usage = tool_help(capsys, script)
        for flag in (a.split('=')[0] for a in args if a.startswith('--')):
            assert re.search(rf'(^|[\s\[,]){re.escape(flag)}\b', usage), f'{command}: {flag} not in {script} --help'
        for path in (a for a in args if a.startswith('configs/')):
            assert os.path.isfile(os.path.join(ROOT, path)), command
        checked += 1
    assert checked >= 6


@pytest.mark.parametrize('command', RUN_AS_WRITTEN)
def test_quick_readme_commands_run(command):
    assert command in open(README).read()
    proc = subprocess.run([sys.executable, *command.split()[1:]], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
