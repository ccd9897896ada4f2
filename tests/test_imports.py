"""The package's import structure: no import loop (each subpackage imports on its own, in any order), weight-file code
that depends on nothing but the arch table and the errors, and no import hidden inside a function to dodge a loop."""
import ast
import glob
import itertools
import os
import subprocess
import sys

import pytest

from tests.helpers import ROOT

PACKAGE = os.path.join(ROOT, 'mmpoolformer')


def package_imports(path: str):
    """(module the file imports from mmpoolformer, whether at the top level) for each import of ``path``."""
    module = os.path.relpath(path, ROOT)[:-3].replace(os.sep, '.')
    package = module.rsplit('.', 1)[0] if not module.endswith('__init__') else module[:-len('.__init__')]
    tree = ast.parse(open(path).read())
    top = set(map(id, tree.body))  # module level, also inside a try (an optional dependency), not in a function
    top |= {id(n) for t in tree.body if isinstance(t, ast.Try) for n in t.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')
                base = base[:len(base) - node.level + 1]
                target = '.'.join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ''
            names = [target] if node.module else [f'{target}.{a.name}' for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found += [(name, id(node) in top) for name in names if name.split('.')[0] == 'mmpoolformer']
    return found


@pytest.mark.parametrize('order', list(itertools.permutations(['checkpoint', 'models'])) + [('engine',), ('cli',)])
def test_subpackages_import_on_their_own_in_any_order(order):
    code = '; '.join(f'import mmpoolformer.{name}' for name in order)
    proc = subprocess.run([sys.executable, '-W', 'ignore', '-c', code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_checkpoint_code_depends_only_on_the_arch_table_the_errors_and_atomic_writing():
    for path in glob.glob(os.path.join(PACKAGE, 'checkpoint', '*.py')):
        outside = {name for name, _ in package_imports(path) if not name.startswith('mmpoolformer.checkpoint')}
        assert outside <= {'mmpoolformer.arch_settings', 'mmpoolformer.errors', 'mmpoolformer.fileio'}, (path,
                                                                                                         outside)
    for leaf in ('arch_settings.py', 'errors.py', 'fileio.py'):
        assert package_imports(os.path.join(PACKAGE, leaf)) in ([], [('mmpoolformer.errors', True)]), leaf


def test_no_package_import_is_hidden_inside_a_function_of_the_models_or_checkpoint_code():
    for path in glob.glob(os.path.join(PACKAGE, 'models', '*.py')) + glob.glob(os.path.join(PACKAGE, 'checkpoint',
                                                                                             '*.py')):
        hidden = [name for name, top in package_imports(path) if not top]
        assert hidden == [], (path, hidden)
