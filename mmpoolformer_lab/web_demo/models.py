"""The models the page offers: where they come from, how they are loaded, and what one request runs.

Sources (see :func:`model_specs`): the quickstart checkpoints under ``work_dirs/quickstart_<name>/`` (the newest
complete checkpoint named by ``last_checkpoint``, with the config the run dumped beside it), every ``--model CONFIG
CHECKPOINT`` and every ``--onnx FILE`` written by ``tools/deployment/export_onnx.py``. :func:`load_models` loads each
with the tools' own loaders (:func:`mmpoolformer.apis.init_model`, :class:`mmpoolformer.deployment.OnnxModel`); one
that cannot be loaded (a missing file, a checkpoint that does not fit its config, ...) is left out with its one-line
message and the others are served.
"""
import copy
import glob
import os.path as osp
import threading
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmpoolformer.analysis.cam import cam_drawing
from mmpoolformer.analysis.erf import (
    IMAGENET,
    MIXERS,
    arch_backbones,
    area_text,
    erf,
    erf_figure,
    figure_rgb,
    mass_areas,
    normalise,
    preprocessor_norm,
)
from mmpoolformer.analysis.featmap import feature_map_drawing
from mmpoolformer.apis import found_rows, init_model, predict, prepare_inputs, render
from mmpoolformer.deployment import OnnxModel
from mmpoolformer.engine.acceleration import accelerate
from mmpoolformer.errors import ConfigError, FastInferenceError, UserError
from mmpoolformer.tasks import task_of

LOWEST_SCORE_THR = 0.05  # the page's slider starts here; the models' own test thresholds are lowered to it


@dataclass
class ModelSpec:
    """One model to load: ``name`` in the page; a PyTorch ``config`` + ``checkpoint``, or an ``onnx`` file."""
    name: str
    config: Optional[str] = None
    checkpoint: Optional[str] = None
    onnx: Optional[str] = None

    @property
    def files(self) -> str:
        return self.onnx if self.onnx else f'{self.config} + {self.checkpoint}'


def quickstart_specs(work_dirs: str = 'work_dirs') -> List[ModelSpec]:
    """A spec per ``work_dirs/quickstart_*/`` holding a ``last_checkpoint`` and the config its run dumped
    (``tools/train.py`` writes it under the config's file name); the checkpoint is looked up in that folder by the
    base name ``last_checkpoint`` holds, as ``tools/quickstart.sh`` does."""
    specs = []
    for folder in sorted(glob.glob(osp.join(work_dirs, 'quickstart_*'))):
        pointer = osp.join(folder, 'last_checkpoint')
        configs = sorted(glob.glob(osp.join(folder, '*.py')))
        if not (osp.isfile(pointer) and configs):
            continue
        with open(pointer) as f:
            checkpoint = osp.join(folder, osp.basename(f.read().strip()))
        specs.append(ModelSpec(f'{osp.basename(folder)} ({osp.basename(checkpoint)})', configs[0], checkpoint))
    return specs


def model_specs(work_dirs: Optional[str], models: Sequence[Sequence[str]] = (),
                onnx: Sequence[str] = ()) -> List[ModelSpec]:
    """The quickstart checkpoints of ``work_dirs`` (None: none), then each ``(config, checkpoint)`` of ``models``
    and each ONNX file of ``onnx``, named by their files (a repeated name gets ``#2``, ``#3``, ...)."""
    specs = quickstart_specs(work_dirs) if work_dirs else []
    specs += [ModelSpec(f'{osp.splitext(osp.basename(c))[0]} ({osp.basename(k)})', c, k) for c, k in models]
    specs += [ModelSpec(f'{osp.basename(path)} (ONNX Runtime)', onnx=path) for path in onnx]
    seen: Dict[str, int] = {}
    for spec in specs:
        seen[spec.name] = seen.get(spec.name, 0) + 1
        if seen[spec.name] > 1:
            spec.name += f' #{seen[spec.name]}'
    return specs


@dataclass
class Prediction:
    """What "Predict" shows: ``drawing`` ((H, W, 3) RGB uint8, as ``tools/demo.py`` draws), ``rows``
    (:func:`mmpoolformer.apis.found_rows`), ``timings`` (path name -> milliseconds of one image through the model,
    pre- and post-processing included), ``notes`` (lines for the page), ``sample`` (the drawn result: mmdet's
    DetDataSample, mmseg's SegDataSample or mmpretrain's DataSample)."""
    drawing: np.ndarray
    rows: List[Tuple[str, str, str]]
    timings: Dict[str, float]
    notes: List[str] = field(default_factory=list)
    sample: object = None


class ServedModel:
    """A loaded model of the page. PyTorch models keep the eager model (whose predictions are drawn, as
    ``tools/demo.py`` draws them without flags) and a copy on the fast path
    (:func:`mmpoolformer.engine.acceleration.accelerate` with ``fast``); both are timed on every image. An ONNX
    model runs in ONNX Runtime. One request at a time uses a model (:attr:`lock`): CAMs hook into its layers."""

    def __init__(self, spec: ModelSpec, device: str = 'cpu', trust: bool = False, fast: Optional[dict] = None):
        self.spec, self.name = spec, spec.name
        self.lock = threading.Lock()
        self.fast_model = self.onnx = None
        if spec.onnx:
            self.onnx = OnnxModel(spec.onnx)
            if self.onnx.kind == 'backbone':
                raise ConfigError(f'{spec.onnx} is a backbone-only export (features, no predictions); export the '
                                  f'whole detector or segmentor without --backbone-only')
            self.cfg, self.dataset_meta = self.onnx.cfg, self.onnx.dataset_meta
            self.task = task_of(self.cfg).name
            self.fast_options = None
            return
        self.model, self.cfg = init_model(spec.config, spec.checkpoint, device, trust=trust,
                                          score_thr=LOWEST_SCORE_THR, fast={})
        self.dataset_meta = getattr(self.model, 'dataset_meta', None) or {}
        self.task = task_of(self.cfg).label(self.model)
        self.fast_options = dict(compile=False) if fast is None else dict(fast)
        self.fast_model = copy.deepcopy(self.model)
        self.fast_report = accelerate(self.fast_model, **self.fast_options)
        self._warm_up()

    def _warm_up(self) -> None:
        """One prediction per path on a grey 64x64 image, so that the page's first timing is not that of a first
        call (memory allocation, kernel selection; with ``--compile``, the first compilation)."""
        grey = np.full((64, 64, 3), 128, np.uint8)
        for model in (self.model, self.fast_model):
            predict(model, self.cfg, grey)

    @property
    def fast_name(self) -> str:
        """How the fast path is made, in words."""
        opts = self.fast_options or {}
        words = ['deploy folding', 'channels_last'] + (['torch.compile'] if opts.get('compile') else [])
        return 'fast path (' + ', '.join(words + [opts['dtype']] if opts.get('dtype') else words) + ')'

    def describe(self) -> str:
        """One line for the page: name, task, classes, files."""
        classes = ', '.join(map(str, (self.dataset_meta or {}).get('classes') or [])) or 'unnamed'
        runs = 'ONNX Runtime' if self.onnx else f'PyTorch eager and {self.fast_name}'
        return f'{self.name}: {self.task}, classes {classes}; {runs}; files {self.spec.files}'

    def _compilations(self) -> int:
        return sum(c.compilations for c in self.fast_report['compiled'].values()) if self.fast_model else 0

    def predict(self, img: np.ndarray, score_thr: float) -> Prediction:
        """Predict on the BGR uint8 image ``img`` (h, w, 3), draw the eager (or ONNX) result and time each path."""
        with self.lock:
            if self.onnx:
                start = time.perf_counter()
                result, metainfo = self.onnx.predict(img)
                timings = {'ONNX Runtime': 1000 * (time.perf_counter() - start)}
                sample, notes = self.onnx.data_sample(result, metainfo), []
            else:
                start = time.perf_counter()
                sample = predict(self.model, self.cfg, img)
                timings = {'PyTorch eager': 1000 * (time.perf_counter() - start)}
                before = self._compilations()
                start = time.perf_counter()
                predict(self.fast_model, self.cfg, img)
                timings[self.fast_name] = 1000 * (time.perf_counter() - start)
                compiled = self._compilations() - before
                notes = [f'the fast path compiled {compiled} graph(s) for this image size in this request; the '
                         f'next image of this size runs without compiling'] if compiled else []
        drawing = render(self.dataset_meta, self.cfg, img, sample, score_thr)
        return Prediction(drawing, found_rows(self.dataset_meta, sample, score_thr), timings, notes, sample)

    def look_inside(self, img: np.ndarray, cam_method: str = 'eigencam',
                    erf_shape: Tuple[int, int] = (224, 224)) -> Dict[str, Tuple[np.ndarray, str]]:
        """Per-stage feature maps, the class activation map of ``cam_method`` and the effective receptive field of
        the backbone's last stage for ``img`` (BGR uint8) resized to ``erf_shape`` (H, W), each drawn by the
        library code of ``tools/visualization/vis_featmap.py``, ``vis_cam.py`` and ``tools/analysis/erf.py``.

        Returns ``{'featmaps' | 'cam' | 'erf': ((H, W, 3) RGB uint8 drawing, caption)}``."""
        if self.onnx:
            raise ConfigError(f'{self.name} runs in ONNX Runtime, which exposes no layers; choose a PyTorch model '
                              f'(--model CONFIG CHECKPOINT or a quickstart checkpoint) to look inside')
        with self.lock:
            inputs, sample, network_view = prepare_inputs(self.model.data_preprocessor, self.cfg, img)
            featmaps, stages = feature_map_drawing(self.model, inputs, sample, network_view)
            cam, cam_title = cam_drawing(self.model, self.cfg, inputs, sample, network_view, cam_method)
            norm = preprocessor_norm(self.model.data_preprocessor)
            receptive = erf(self.model.backbone, [normalise(img, erf_shape, norm)])
        areas = mass_areas(receptive)
        erf_rgb = figure_rgb(erf_figure({self.name: receptive}, {self.name: areas}, erf_shape))
        return dict(featmaps=(featmaps, f'backbone outputs {stages}: channel mean over the image as the network '
                                        f'sees it ({network_view.shape[1]}x{network_view.shape[0]} px)'),
                    cam=(cam, cam_title),
                    erf=(erf_rgb, f'ERF of the last stage at {erf_shape[0]}x{erf_shape[1]}; share of the input area '
                                  f'holding 20/50/90 % of the mass: {area_text(areas)}'))


class MixerComparison:
    """The token-mixer comparison of ``tools/analysis/erf.py ARCH --mixers ...``: an untrained MetaFormer of ``arch``
    per mixer (built on first use, then kept), the ERF of each on one image."""

    def __init__(self, arch: str = 's12', mixers: Sequence[str] = None):
        self.arch, self.mixers = arch, list(mixers or MIXERS)
        self._backbones = None
        self.lock = threading.Lock()

    def draw(self, img: np.ndarray, shape: Tuple[int, int]) -> Tuple[np.ndarray, str]:
        """The ERF of each mixer's network for ``img`` (BGR uint8) resized to ``shape`` (H, W), ImageNet-normalised:
        the (H, W, 3) RGB uint8 drawing of ``erf.py`` and a caption with each mixer's mass areas."""
        with self.lock:
            if self._backbones is None:
                self._backbones = arch_backbones(self.arch, self.mixers)
            x = normalise(img, shape, IMAGENET)
            fields = {name: erf(backbone, [x]) for name, backbone in self._backbones.items()}
        areas = {name: mass_areas(f) for name, f in fields.items()}
        caption = '; '.join(f'{name}: {area_text(a)}' for name, a in areas.items())
        return figure_rgb(erf_figure(fields, areas, shape)), f'untrained {self.arch}, layer scales 1: {caption}'


def load_models(specs: Sequence[ModelSpec], device: str = 'cpu', trust: bool = False,
                fast: Optional[dict] = None) -> Tuple[List[ServedModel], List[str]]:
    """Load every spec; returns the served models and, for each one left out, ``'NAME: MESSAGE'`` (the
    one-line :class:`~mmpoolformer.errors.UserError` that stopped it; a fast-path refusal such as bf16 on a CPU
    without bf16 stops every model alike and is raised)."""
    served, left_out = [], []
    for spec in specs:
        try:
            served.append(ServedModel(spec, device, trust, fast))
        except FastInferenceError:
            raise
        except UserError as exc:
            left_out.append(f'{spec.name}: {exc}')
    return served, left_out
