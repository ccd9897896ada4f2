"""Shared test helpers: running the command-line tools, parsing their printed metrics, one-step model checks."""
import os
import subprocess
import sys

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmpoolformer.evaluation.printed_metrics import printed_metrics  # noqa: F401  (the tool's printed metrics)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_tool(path: str):
    """The tool script ``path`` (relative to the repo root, e.g. ``tools/demo.py``) loaded as a module, to run its
    ``main`` in-process (tools/ is not a package)."""
    import importlib.util
    name = 'tool_' + os.path.splitext(path)[0].replace('/', '_')
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_TOOLS = {}


def _manager_classes():
    """Every MMEngine ManagerMixin class (loggers, message hubs, visualizers, default scopes)."""
    from mmengine.utils import ManagerMixin
    classes, todo = [], [ManagerMixin]
    while todo:
        cls = todo.pop()
        classes.append(cls)
        todo += cls.__subclasses__()
    return classes


def run_tool_here(path: str, *args, check=True) -> subprocess.CompletedProcess:
    """``python path args`` run in this process: the tool's ``main`` through ``run_cli`` with ``sys.argv`` set, its
    stdout and stderr captured, its exit code kept. MMEngine's named instances (loggers, message hubs, visualizers,
    default scopes) are set aside for the run and the run's own discarded after it, so the run starts as a fresh
    process would and leaves nothing behind. Seconds faster than :func:`run_tool` (no new interpreter importing the
    stack); for what a process would do the same, not for distributed runs, signals or crashes of the interpreter."""
    import contextlib
    import io

    from mmpoolformer.cli import run_cli
    module = _TOOLS.get(path) or _TOOLS.setdefault(path, load_tool(path))
    argv = [path, *map(str, args)]
    stashed = {cls: dict(cls._instance_dict) for cls in _manager_classes()}
    for cls in stashed:
        cls._instance_dict.clear()
    out, err, code, saved_argv = io.StringIO(), io.StringIO(), 0, sys.argv
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            sys.argv = argv
            try:
                run_cli(module.main)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv = saved_argv
        for cls in _manager_classes():
            for instance in cls._instance_dict.values():
                for handler in getattr(instance, 'handlers', [])[:]:  # a logger's log file
                    handler.close()
                    instance.removeHandler(handler)
            cls._instance_dict.clear()
            cls._instance_dict.update(stashed.get(cls, {}))
    proc = subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())
    if check and code != 0:
        raise AssertionError(f'{argv} exited {code}\nSTDOUT tail:\n{proc.stdout[-3000:]}\nSTDERR tail:\n'
                             f'{proc.stderr[-5000:]}')
    return proc


def run_tool(*args, timeout=900, env=None, check=True):
    """Run ``python tools/...`` from the repo root; fail with its output if it exits non-zero and ``check``."""
    full_env = dict(os.environ, PYTHONWARNINGS='ignore', **(env or {}))
    proc = subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=full_env)
    if check and proc.returncode != 0:
        raise AssertionError(f'{args} exited {proc.returncode}\nSTDOUT tail:\n{proc.stdout[-3000:]}\n'
                             f'STDERR tail:\n{proc.stderr[-5000:]}')
    return proc


def upstream_tool(package: str, name: str) -> str:
    """``tools/NAME.py`` of an installed OpenMMLab package (what ``mim train/test`` runs)."""
    import importlib
    path = os.path.join(os.path.dirname(importlib.import_module(package).__file__), '.mim', 'tools', f'{name}.py')
    assert os.path.isfile(path), path
    return path


def error_line(proc: subprocess.CompletedProcess) -> str:
    """The one-line error a tool ended with (exit code 2, no traceback), without the debug hint that follows every
    such line; library warnings printed before it aside."""
    from mmpoolformer.cli import DEBUG_HINT
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and lines and 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    assert lines[-1].startswith('error: ') and lines[-1].endswith(DEBUG_HINT), proc.stderr[-3000:]
    return lines[-1][:-len(DEBUG_HINT)]


_CONFIGS = {}


def config_in_repo(path: str) -> Config:
    """A fresh copy of the config at ``path`` (relative to the repo root), parsed once per test process (parsing one
    takes ~0.2 s and hundreds are read)."""
    import copy
    if path not in _CONFIGS:
        _CONFIGS[path] = Config.fromfile(os.path.join(ROOT, path))
    return copy.deepcopy(_CONFIGS[path])


def build_model(cfg: Config):
    """Build ``cfg.model`` offline (no pretrained download) the way the toolbox's runner would."""
    import importlib
    scope = cfg.default_scope
    importlib.import_module(f'{scope}.registry')
    from mmengine.registry import MODELS
    cfg.model.backbone.init_cfg = None
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(cfg.model)
        model.init_weights()
    return model


def detector_step(model, with_mask: bool, image_shapes=((3, 128, 160), (3, 96, 128)), num_classes=80):
    """One training step (loss + backward) and one predict step on random images; returns (losses, results)."""
    from mmdet.testing import demo_mm_inputs
    torch.manual_seed(0)
    packed = demo_mm_inputs(batch_size=len(image_shapes), image_shapes=list(image_shapes), num_items=[3] * len(
        image_shapes), num_classes=num_classes, with_mask=with_mask)
    model.train()
    data = model.data_preprocessor(packed, True)
    losses = model(**data, mode='loss')
    total, _ = model.parse_losses(losses)
    total.backward()
    model.eval()
    with torch.no_grad():
        results = model(**model.data_preprocessor(packed, False), mode='predict')
    return losses, total, results


# a tiny MetaFormer arch for models built many times (folding, compile, export)
TINY_ARCH = dict(depths=[1, 1, 2, 1], embed_dims=[16, 24, 32, 40], layer_scale_init_value=0.5)


def randomise(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Perturb every parameter and BN statistic, so that the model's outputs are far from its initialisation and a
    folding or export mistake cannot hide behind 1s and 0s; returns the model in eval mode."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for _, param in model.named_parameters():
            param.add_(0.3 * torch.randn_like(param))
        for name, buf in model.named_buffers():
            if name.endswith('running_var'):
                buf.uniform_(0.5, 2.)
            elif name.endswith('running_mean'):
                buf.normal_()
    return model.eval()


def max_diff(a, b) -> float:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.shape == y.shape
    return max((x - y).abs().max().item() for x, y in zip(a, b))


INPUT_HW = (197, 263)


def reference_features(ref, x):
    with torch.no_grad():
        return ref(x)


def our_features(model, x):
    with torch.no_grad():
        return model.eval()(x)


def assert_close(ours, theirs, tol=1e-5):
    assert len(ours) == len(theirs)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert a.shape == b.shape, f'stage {i}: {a.shape} vs {b.shape}'
        err = (a - b).abs().max().item()
        assert err <= tol, f'stage {i}: max |diff| {err:.3g} > {tol}'


class RunsCode:
    """Unpickling this would create a marker file: a stand-in for a malicious checkpoint."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def find(pipeline, type_name):
    return next(t for t in pipeline if t.type == type_name)


# a tiny RetinaNet over the quickstart config, for runs of the command-line tools on the data fixture
TINY = """_base_ = ['{root}/configs/quickstart/retinanet_poolformer_s12_demo.py']
demo_data = None
{imports}
image_size = (96, 96)
train_cfg = dict(max_epochs={epochs}, val_interval=100)
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False)
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False)
test_dataloader = val_dataloader
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1, max_keep_ckpts=5))
model = dict(test_cfg=dict(score_thr=0.0))  # a barely trained model scores below 0.05; COCO metrics need predictions
{extra}
"""


def write_config(tmp_path, epochs=1, imports='', extra='', name='tiny.py'):
    path = tmp_path / name
    path.write_text(TINY.format(root=ROOT, epochs=epochs, imports=imports, extra=extra))
    return path


TINY_OVERRIDES = """
metainfo = dict(classes=('circle', 'square', 'triangle', 'cross'))
model = dict(backbone=dict(init_cfg=None){head})
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(metainfo=metainfo, data_prefix=dict(img='train2017/'),
                                     ann_file='annotations/instances_train2017.json'))
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                      dataset=dict(metainfo=metainfo, data_prefix=dict(img='val2017/'),
                                   ann_file='annotations/instances_val2017.json'))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs={epochs}, val_interval=100)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
randomness = dict(seed=0, deterministic=False)
"""


# score_thr=0: a model trained for a few iterations scores below the default 0.05, and COCO metrics need predictions
HEADS = {'retinanet': ', bbox_head=dict(num_classes=4), test_cfg=dict(score_thr=0.0)',
         'mask_rcnn': ', roi_head=dict(bbox_head=dict(num_classes=4), mask_head=dict(num_classes=4)), '
                      'test_cfg=dict(rcnn=dict(score_thr=0.0))'}


def tiny_config(tmp_path, kind, epochs=1, scale=(128, 128)):
    """A user's config inheriting the real COCO config, shrunk for CPU: 128 px images, 4 classes, no download."""
    text = f"_base_ = ['{ROOT}/configs/{kind}_poolformer_s12_fpn_coco.py']\n"
    text += TINY_OVERRIDES.format(head=HEADS[kind], epochs=epochs)
    path = tmp_path / f'tiny_{kind}.py'
    path.write_text(text)
    # the pipeline scale goes through --cfg-options, as a user would shrink it
    pipeline_scale = [f'train_dataloader.dataset.pipeline.2.scale={scale}',
                      f'val_dataloader.dataset.pipeline.1.scale={scale}',
                      f'test_dataloader.dataset.pipeline.1.scale={scale}']
    return str(path), pipeline_scale


def scaled_diff(a, b) -> float:
    """max |diff| over max(1, max |b|): absolute for normalised outputs, relative where BN or no norm lets the
    randomised model's activations grow into the thousands."""
    return max_diff(a, b) / max(1., max(y.abs().max().item() for y in b))


TINY_RETINANET = """_base_ = ['{root}/configs/retinanet_poolformer_s12_fpn_coco.py']
model = dict(
    backbone=dict(init_cfg=None, arch=dict(_delete_=True, depths=[1, 1, 1, 1], embed_dims=[8, 16, 24, 32],
                                           layer_scale_init_value=0.5)),
    neck=dict(in_channels=[16, 24, 32], out_channels=16),
    bbox_head=dict(num_classes=3, in_channels=16, feat_channels=16, stacked_convs=1))
"""


TINY_FPN = """_base_ = ['{root}/configs/fpn_poolformer_s12_ade20k_40k.py']
model = dict(
    backbone=dict(init_cfg=None, arch=dict(_delete_=True, depths=[1, 1, 1, 1], embed_dims=[8, 16, 24, 32],
                                           layer_scale_init_value=0.5)),
    neck=dict(in_channels=[8, 16, 24, 32], out_channels=16),
    decode_head=dict(in_channels=[16, 16, 16, 16], channels=16, num_classes=5))
"""


def tiny_model(tmp_path, text):
    from mmpoolformer.apis import init_model
    config = tmp_path / 'tiny.py'
    config.write_text(text.format(root=ROOT))
    model, _ = init_model(str(config), fast={})
    randomise(model.backbone)
    return model


def stage_shape(h, w, stage):
    """Expected spatial size from the convolution arithmetic: stem k7 s4 p2, then k3 s2 p1 per later stage."""
    h, w = (h + 4 - 7) // 4 + 1, (w + 4 - 7) // 4 + 1
    for _ in range(stage):
        h, w = (h + 2 - 3) // 2 + 1, (w + 2 - 3) // 2 + 1
    return h, w


# ---- metrics recomputed independently of the evaluators, from what tools/test.py --out dumps

def coco_map_of_dump(results: list, ann_file: str, iou_type: str = 'bbox') -> float:
    """COCO mAP@[.5:.95] of mmdet's dumped predictions (``--out``), scored by pycocotools itself. Boxes only; for
    ``iou_type='segm'`` the dumped masks are RLE-encoded here."""
    import numpy as np
    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    gt = COCO(ann_file)
    cat_ids = sorted(gt.getCatIds())
    dets = []
    for result in results:
        pred = result['pred_instances']
        for i, (box, score, label) in enumerate(zip(pred['bboxes'].tolist(), pred['scores'].tolist(),
                                                    pred['labels'].tolist())):
            det = dict(image_id=int(result['img_id']), category_id=cat_ids[label], score=score)
            if iou_type == 'bbox':
                det['bbox'] = [box[0], box[1], box[2] - box[0], box[3] - box[1]]
            else:
                masks = pred['masks']
                rle = masks[i] if isinstance(masks[i], dict) else mask_utils.encode(
                    np.asfortranarray(np.asarray(masks[i], dtype=np.uint8)))
                det['segmentation'] = dict(size=rle['size'], counts=rle['counts'].decode()
                                           if isinstance(rle['counts'], bytes) else rle['counts'])
            dets.append(det)
    if not dets:
        return 0.
    evaluator = COCOeval(gt, gt.loadRes(dets), iou_type)
    evaluator.params.maxDets = [100, 300, 1000]  # as mmdet's CocoMetric: mAP over up to 1000 detections per image
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    return float(evaluator.stats[0])


def miou_of_label_maps(pred_dir, ann_dir, num_classes: int) -> float:
    """mIoU in % of the label maps ``tools/test.py --out`` wrote (ADE20K labels: 0 ignored, 1..num_classes) against
    the annotation maps of the same names: per class, intersection and union summed over all images; classes
    absent from both are left out."""
    import os

    import mmcv
    import numpy as np
    inter, union = np.zeros(num_classes), np.zeros(num_classes)
    for name in sorted(os.listdir(ann_dir)):
        ann = mmcv.imread(os.path.join(ann_dir, name), flag='unchanged')
        pred = mmcv.imread(os.path.join(pred_dir, name), flag='unchanged')
        valid = ann != 0
        for c in range(num_classes):
            inter[c] += np.sum((pred == c + 1) & (ann == c + 1) & valid)
            union[c] += np.sum(((pred == c + 1) | (ann == c + 1)) & valid)
    present = union > 0
    return float(np.mean(inter[present] / union[present]) * 100)


def top1_of_dump(results: list) -> float:
    """Top-1 accuracy in % of MMPretrain's dumped predictions (``--out``): the share whose predicted label is the
    ground-truth label dumped with it."""
    right = [int(r['pred_label'][0]) == int(r['gt_label'][0]) for r in results]
    return 100 * sum(right) / len(right)


# tests/signal_hooks.py in a config of write_config (keyword arguments), and the PYTHONPATH its runs need
SIGNAL_HOOK = dict(imports="custom_imports = dict(imports=['mmpoolformer', 'tests.signal_hooks'])",
                   extra="custom_hooks = [dict(type='mmpoolformer.NonFiniteLossHook'), "
                         "dict(type='mmpoolformer.RandomStateHook'), dict(type='mmpoolformer.FastInferenceHook'), "
                         "dict(type='SignalAt')]")
SIGNAL_HOOK_PATH = ROOT


# a tiny RetinaNet for the runs that only test how training starts, stops and resumes (a few ms an iteration)
FAST_MODEL = ("model = dict(backbone=dict(arch=dict(_delete_=True, depths=[1, 1, 1, 1], embed_dims=[16, 24, 32, 40], "
              "layer_scale_init_value=0.1)), neck=dict(in_channels=[24, 32, 40], out_channels=32), "
              "bbox_head=dict(in_channels=32, feat_channels=32, stacked_convs=1), test_cfg=dict(score_thr=0.0))")


def stoppable_config(tmp_path, epochs: int, name: str = 'stoppable.py'):
    """write_config's tiny RetinaNet with :data:`FAST_MODEL` and the tests' signal hook (:data:`SIGNAL_HOOK`)."""
    return write_config(tmp_path, epochs=epochs, imports=SIGNAL_HOOK['imports'],
                        extra=SIGNAL_HOOK['extra'] + '\n' + FAST_MODEL, name=name)


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def checkpoints_in(work) -> list:
    """The checkpoint files of a work dir, sorted by name."""
    return sorted(p.name for p in work.glob('*.pth'))


def trained_iterations(log: str) -> list:
    """The (epoch, batch) of every training iteration a log shows (MMEngine's ``Epoch(train) [E][B/N]`` lines,
    logged every iteration)."""
    import re
    return [(int(e), int(b)) for e, b in re.findall(r'Epoch\(train\) +\[(\d+)\]\[ *(\d+)/\d+\]', log)]


def same_weights(a, b) -> bool:
    """Whether two checkpoint files hold bit-identical model weights."""
    first = torch.load(a, map_location='cpu', weights_only=True)['state_dict']
    second = torch.load(b, map_location='cpu', weights_only=True)['state_dict']
    return first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)
