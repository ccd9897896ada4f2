"""The import structure of the library (``mmpoolformer/``) and of the lab beside it (``mmpoolformer_lab/``): layers
that import only downwards, the library never importing the lab, no import loop (each subpackage imports on its own,
in any order), weight-file code that depends on nothing but the arch tables and the errors, no import hidden inside a
function to dodge a loop; and tools that import the packages only, never each other."""
import ast
import glob
import itertools
import os
import subprocess
import sys

import pytest

from tests.helpers import ROOT

PACKAGE = os.path.join(ROOT, 'mmpoolformer')
LAB = os.path.join(ROOT, 'mmpoolformer_lab')
ROOTS = ('mmpoolformer', 'mmpoolformer_lab')
# each package's parts, lowest layer first: a module imports its own part or parts of lower layers only
LAYERS = {
    'mmpoolformer': [
        {'errors'},
        {'fileio', 'registry', 'training_log', 'compat', 'versions'},
        {'checkpoint'},
        {'models', 'datasets', 'evaluation', 'demo_data', 'visualization', 'collect_env', 'model_inputs'},
        {'engine', 'tasks'},
        {'apis'},
        {'analysis', 'deployment'},
        {'cli'},
        {'__init__', '__main__'},
    ],
    # the lab imports any part of the library
    'mmpoolformer_lab': [
        {'benchmark', 'studies', 'web_demo'},
        {'gpu_check'},
        {'__init__'},
    ],
}
# the one import that climbs: the weight-file layouts read the arch tables where the backbones keep them
UPWARD_ALLOWED = {('mmpoolformer.checkpoint', 'mmpoolformer.models.arch_settings')}


def package_files(package: str = PACKAGE):
    return sorted(glob.glob(os.path.join(package, '**', '*.py'), recursive=True))


def all_files():
    return package_files(PACKAGE) + package_files(LAB)


def module_name(path: str) -> str:
    return os.path.relpath(path, ROOT)[:-3].replace(os.sep, '.')


def part(module: str) -> str:
    """The part of the package a module belongs to: ``mmpoolformer.engine.runner`` -> ``engine``."""
    return module.split('.')[1]


def root(module: str) -> str:
    return module.split('.')[0]


def package_imports(path: str):
    """(module the file imports from mmpoolformer or the lab, whether at the top level) for each import of
    ``path``."""
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
        found += [(name, id(node) in top) for name in names if name.split('.')[0] in ROOTS]
    return found


@pytest.mark.parametrize('order', list(itertools.permutations(['checkpoint', 'models', 'checkpoint.layouts']))
                         + [('models.metaformer',), ('checkpoint.fit',), ('engine',), ('cli',)])
def test_subpackages_import_on_their_own_in_any_order(order):
    code = '; '.join(f'import mmpoolformer.{name}' for name in order)
    proc = subprocess.run([sys.executable, '-W', 'ignore', '-c', code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_checkpoint_code_depends_only_on_the_arch_tables_the_errors_and_atomic_writing():
    for path in glob.glob(os.path.join(PACKAGE, 'checkpoint', '*.py')):
        outside = {name for name, _ in package_imports(path) if not name.startswith('mmpoolformer.checkpoint')}
        assert outside <= {'mmpoolformer.models.arch_settings', 'mmpoolformer.errors', 'mmpoolformer.fileio'}, (
            path, outside)
    for leaf in ('models/arch_settings.py', 'errors.py', 'fileio.py'):
        assert package_imports(os.path.join(PACKAGE, leaf)) in ([], [('mmpoolformer.errors', True)]), leaf


@pytest.mark.parametrize('package', ROOTS)
def test_every_module_imports_its_own_part_or_a_lower_layer_only(package):
    layer = {name: i for i, names in enumerate(LAYERS[package]) for name in names}
    files = package_files(os.path.join(ROOT, package))
    found_parts = {part(module_name(path)) for path in files}
    assert found_parts <= set(layer), f'parts without a layer: {found_parts - set(layer)}'
    upward = []
    for path in files:
        source = part(module_name(path))
        for target, _ in package_imports(path):
            if root(target) != package or target == package:
                continue
            climbs = part(target) != source and layer[part(target)] >= layer[source]
            if climbs and (f'{package}.{source}', target) not in UPWARD_ALLOWED:
                upward.append(f'{module_name(path)} -> {target}')
    assert upward == []


def test_the_library_never_imports_the_lab():
    assert [f'{module_name(path)} -> {target}' for path in package_files()
            for target, _ in package_imports(path) if root(target) == 'mmpoolformer_lab'] == []


def test_no_import_cycle():
    modules = {module_name(path): path for path in all_files()}

    def resolve(name: str) -> str:  # 'mmpoolformer.apis.read_image' -> 'mmpoolformer.apis.__init__'
        while name:
            for candidate in (name, f'{name}.__init__'):
                if candidate in modules:
                    return candidate
            name = name.rpartition('.')[0]
        return ''

    graph = {module: {resolve(target) for target, top in package_imports(path) if top} - {''}
             for module, path in modules.items()}
    state, cycles = {}, []

    def visit(module, trail):
        state[module] = 'open'
        for target in sorted(graph[module]):
            if state.get(target) == 'open':
                cycles.append(trail[trail.index(target):] + [target] if target in trail else [module, target])
            elif target not in state:
                visit(target, trail + [target])
        state[module] = 'done'

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_no_package_import_is_hidden_inside_a_function():
    hidden = [f'{module_name(path)} -> {name}' for path in all_files()
              for name, top in package_imports(path) if not top]
    assert hidden == []


def test_tools_import_the_package_only_and_stay_short():
    """Library logic lives in mmpoolformer/ and the lab's in mmpoolformer_lab/: a tool script handles its arguments
    and prints, and no tool imports another (tools/ is not a package)."""
    assert not os.path.exists(os.path.join(ROOT, 'tools', '__init__.py'))
    for path in glob.glob(os.path.join(ROOT, 'tools', '**', '*.py'), recursive=True):
        tree = ast.parse(open(path).read())
        imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        imported += [n.module or '' for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not [m for m in imported if m.split('.')[0] == 'tools'], path
        assert 'sys.path' not in open(path).read(), path
        assert len(open(path).read().splitlines()) <= 200, path


def test_no_scope_is_compared_outside_the_task_table():
    """What differs between detection, segmentation and classification lives in mmpoolformer/tasks.py: no other
    module or tool compares a value with a scope name ('mmdet', 'mmseg', 'mmpretrain')."""
    scopes = {'mmdet', 'mmseg', 'mmpretrain'}

    def constants(node):
        if isinstance(node, ast.Constant):
            return {node.value}
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return {e.value for e in node.elts if isinstance(e, ast.Constant)}
        return set()

    files = all_files() + glob.glob(os.path.join(ROOT, 'tools', '**', '*.py'), recursive=True)
    compared = []
    for path in files:
        if path == os.path.join(PACKAGE, 'tasks.py'):
            continue
        for node in ast.walk(ast.parse(open(path).read())):
            if isinstance(node, ast.Compare) and any(constants(side) & scopes
                                                     for side in [node.left, *node.comparators]):
                compared.append(f'{os.path.relpath(path, ROOT)}:{node.lineno}')
    assert compared == []


def test_tests_mirror_the_packages():
    """One test folder per subpackage: ``tests/test_NAME/`` for ``mmpoolformer/NAME/``, ``tests/test_lab/test_NAME/``
    for ``mmpoolformer_lab/NAME/``; each holds at least one test module."""
    def subpackages(package: str):
        return sorted(name for name in os.listdir(package)
                      if os.path.isfile(os.path.join(package, name, '__init__.py')))

    for package, tests in ((PACKAGE, os.path.join(ROOT, 'tests')), (LAB, os.path.join(ROOT, 'tests', 'test_lab'))):
        for name in subpackages(package):
            assert glob.glob(os.path.join(tests, f'test_{name}', 'test_*.py')), f'no tests/{name} tests for {package}'
