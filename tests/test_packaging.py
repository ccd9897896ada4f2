"""The package as a user installs it into an environment of their own (docs/install.md): the wheel built, installed
into a fresh environment that sees this one's OpenMMLab stack, and used from a folder outside the checkout."""
import os
import shutil
import subprocess
import sys
import sysconfig

import pytest

from mmpoolformer.demo_data import make_demo_data
from tests.helpers import ROOT, upstream_tool
from tests.test_tools.test_openness import RECIPES, readme_recipe

TINY_BASE = """_base_ = ['mmpoolformer::quickstart/retinanet_poolformer_s12_demo.py']
demo_data = None
image_size = (96, 96)
model = dict(backbone=dict(arch=dict(depths=[1, 1, 1, 1])))
train_cfg = dict(max_epochs=1, val_interval=100)
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False)
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False)
test_dataloader = val_dataloader
default_hooks = dict(logger=dict(interval=1))
"""


def files_under(folder) -> list:
    """The files under ``folder``, relative to it (the byte code pip compiles aside)."""
    return sorted(os.path.relpath(os.path.join(d, f), folder) for d, _, files in os.walk(folder) for f in files
                  if '__pycache__' not in d)


def run(args, cwd, check=True, **env):
    proc = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=900,
                          env=dict(os.environ, PYTHONWARNINGS='ignore', **env))
    if check and proc.returncode != 0:
        raise AssertionError(f'{args} exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}')
    return proc


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """(python, command, user folder, data root): the wheel installed into a fresh environment whose only other
    packages are this environment's stack (a path line, so the editable install's start-up files are not run)."""
    tmp = tmp_path_factory.mktemp('packaging')
    source = tmp / 'source'  # the tracked files only, as a clone has them (no build/ left by an earlier build)
    for name in run(['git', 'ls-files'], cwd=ROOT).stdout.splitlines():
        if os.path.isfile(os.path.join(ROOT, name)):
            os.makedirs(source / os.path.dirname(name), exist_ok=True)
            shutil.copy2(os.path.join(ROOT, name), source / name)
    run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', source, '-w', tmp / 'dist'],
        cwd=tmp)
    wheels = list((tmp / 'dist').glob('mmpoolformer-*.whl'))
    assert len(wheels) == 1, wheels
    env = tmp / 'env'
    run([sys.executable, '-m', 'venv', '--without-pip', env], cwd=tmp)
    python = env / 'bin' / 'python'
    site = run([python, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'], cwd=tmp).stdout.strip()
    with open(os.path.join(site, 'stack.pth'), 'w') as f:
        f.write(sysconfig.get_paths()['purelib'] + '\n')
    run([sys.executable, '-m', 'pip', '--python', python, 'install', '--no-deps', '--no-index', '-q', wheels[0]],
        cwd=tmp)
    user = tmp / 'user'
    user.mkdir()
    make_demo_data(str(tmp / 'data'), seed=5, num_train=4, num_val=2, size=96)
    return python, env / 'bin' / 'mmpoolformer', user, tmp / 'data' / 'coco'


def test_the_installed_package_is_the_wheel_with_its_configs(installed):
    python, _, user, _ = installed
    proc = run([python, '-c', 'import mmpoolformer, _mmpoolformer_configs\n'
                'print(mmpoolformer.__file__)\nprint(_mmpoolformer_configs.packaged_configs_dir())'], cwd=user)
    package, configs = proc.stdout.split()
    env_root = str(python.parent.parent)
    assert package.startswith(env_root) and configs.startswith(env_root) and not package.startswith(ROOT)
    assert files_under(configs) == files_under(f'{ROOT}/configs') and len(files_under(configs)) > 50


def test_a_base_resolves_before_anything_is_imported(installed):
    """The start-up file alone: MMEngine parses an mmpoolformer:: base without mmpoolformer being imported."""
    python, _, user, _ = installed
    (user / 'mine.py').write_text("_base_ = ['mmpoolformer::retinanet_poolformer_s12_fpn_coco.py']\n"
                                  "model = dict(bbox_head=dict(num_classes=3))\n")
    proc = run([python, '-c', 'import sys\nfrom mmengine.config import Config\n'
                'cfg = Config.fromfile("mine.py", import_custom_modules=False)\n'
                'print(cfg.model.backbone.type, cfg.model.backbone.arch, cfg.model.bbox_head.num_classes, '
                'cfg.runner_type, "mmpoolformer" in sys.modules)'], cwd=user)
    assert proc.stdout.split() == ['mmpoolformer.PoolFormer', 's12', '3', 'mmpoolformer.SafeRunner', 'False']
    (user / 'typo.py').write_text("_base_ = ['mmpoolformer::retinanet_poolformer_s13_fpn_coco.py']\n")
    proc = run([python, '-c', 'from mmengine.config import Config\nConfig.fromfile("typo.py")'], cwd=user, check=False)
    configs = run([python, '-c', 'import _mmpoolformer_configs as c; print(c.packaged_configs_dir())'],
                  cwd=user).stdout.strip()
    assert (f'FileNotFoundError: config base mmpoolformer::retinanet_poolformer_s13_fpn_coco.py not found: no file '
            f'{configs}/retinanet_poolformer_s13_fpn_coco.py') in proc.stderr


def test_the_command_trains_a_tiny_epoch_on_a_packaged_base(installed):
    python, command, user, data = installed
    (user / 'tiny.py').write_text(TINY_BASE)
    proc = run([command, 'train', 'tiny.py', '--work-dir', 'work', '--data-root', data], cwd=user)
    assert 'Epoch(train) [1][2/2]' in proc.stdout + proc.stderr
    assert (user / 'work' / 'epoch_1.pth').is_file()
    proc = run([python, '-m', 'mmpoolformer', 'test', 'tiny.py', 'work/epoch_1.pth', '--work-dir', 'test',
                '--data-root', data], cwd=user)
    assert 'coco/bbox_mAP' in proc.stdout
    proc = run([command, 'configs'], cwd=user)
    assert 'mmpoolformer::quickstart/retinanet_poolformer_s12_demo.py' in proc.stdout.splitlines()


def test_mmdet_own_tools_train_then_test_the_readme_recipe(installed):
    python, _, user, data = installed
    recipe = RECIPES['mmdet']
    (user / 'recipe.py').write_text(readme_recipe())
    options = [*recipe['options'], f'train_dataloader.dataset.data_root={data}/',
               f'val_dataloader.dataset.data_root={data}/', f'test_dataloader.dataset.data_root={data}/',
               f'val_evaluator.ann_file={data}/annotations/instances_val2017.json',
               f'test_evaluator.ann_file={data}/annotations/instances_val2017.json']
    (user / 'own.py').write_text(f"_base_ = ['./recipe.py']\n{recipe['config']}")
    run([python, upstream_tool('mmdet', 'train'), 'own.py', '--work-dir', 'det', '--cfg-options', *options], cwd=user)
    proc = run([python, upstream_tool('mmdet', 'test'), 'own.py', 'det/epoch_1.pth', '--work-dir', 'det_test',
                '--cfg-options', *options], cwd=user)
    assert 'coco/bbox_mAP:' in proc.stdout + proc.stderr


def test_the_editable_install_of_this_environment_resolves_bases_from_any_folder(tmp_path):
    """tools/setup.sh installs the checkout editable: its configs are the checkout's, resolved by the start-up file
    in a fresh interpreter before anything is imported."""
    (tmp_path / 'mine.py').write_text("_base_ = ['mmpoolformer::fpn_poolformer_s12_ade20k_40k.py']\n")
    proc = run([sys.executable, '-c', 'import os, sys\nimport _mmpoolformer_configs as c\n'
                'from mmengine.config import Config\n'
                'cfg = Config.fromfile("mine.py", import_custom_modules=False)\n'
                'print(os.path.realpath(c.packaged_configs_dir()), cfg.model.backbone.type, '
                '"mmpoolformer" in sys.modules)'], cwd=tmp_path)
    assert proc.stdout.split() == [os.path.join(ROOT, 'configs'), 'mmpoolformer.PoolFormer', 'False']
