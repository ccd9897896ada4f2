"""Export a model to ONNX and run it in ONNX Runtime with the config's own pre- and post-processing.

The exported file carries what inference needs besides the graph, as ONNX metadata (``metadata_props`` key
``mmpoolformer``, JSON): the kind of graph (``backbone``, ``segmentor``, ``detector``), the full config text (test
pipeline, data preprocessor, test_cfg), the class names and palette, and the export size. So
``tools/deployment/onnx_infer.py model.onnx IMAGE`` needs no config file, and the model runs without this package
wherever ONNX Runtime runs if the caller resizes, normalises and post-processes as described in
:mod:`mmpoolformer.deployment.graphs` and :mod:`mmpoolformer.deployment.postprocess`.
"""
import json
import os.path as osp
import time
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from mmengine.config import Config

from ..errors import ConfigError
from ..fileio import write_atomically
from ..model_inputs import build_data_preprocessor, prepare_inputs
from ..tasks import task_of
from . import graphs, postprocess

META_KEY = 'mmpoolformer'
OPSET = 18


def model_kind(model: torch.nn.Module, backbone_only: bool = False) -> str:
    """``'backbone'``, ``'segmentor'`` or ``'detector'``: which graph :func:`export_onnx` makes of ``model``."""
    if backbone_only:
        return 'backbone'
    if hasattr(model, 'decode_head'):
        return 'segmentor'
    if hasattr(model, 'bbox_head') or hasattr(model, 'roi_head'):
        return 'detector'
    raise ConfigError(f'ONNX export of {type(model).__name__} is not supported; export a detector or segmentor, or '
                      f'its backbone with --backbone-only')


def build_graph(model: torch.nn.Module, kind: str, seg_labels: bool = False) -> torch.nn.Module:
    """The :mod:`~mmpoolformer.deployment.graphs` module for ``model`` (detector, segmentor or its backbone)."""
    if kind == 'backbone':
        with torch.no_grad():
            probe = model.backbone(torch.zeros(1, 3, 64, 64))
        return graphs.BackboneGraph(model.backbone, len(probe))
    if kind == 'segmentor':
        return graphs.SegmentorGraph(model, labels=seg_labels)
    return graphs.DenseDetectorGraph(model)


def export_onnx(model: torch.nn.Module, cfg: Config, out: str, shape: Tuple[int, int], dynamic: bool = False,
                backbone_only: bool = False, seg_labels: bool = False) -> Dict:
    """Write ``model`` (eval mode, fp32) to ``out`` as ONNX with ``torch.onnx.export`` (the dynamo exporter,
    torch's default), traced at input size ``shape`` (h, w); ``dynamic`` lets height and width vary at run time.

    Returns what was written: ``kind``, ``inputs``/``outputs`` (names), ``seconds``, ``size_mb``.
    """
    kind = model_kind(model, backbone_only)
    model.eval()
    graph = build_graph(model, kind, seg_labels).eval()
    dynamic_shapes = None
    if dynamic:
        # the tracer fixes every size that is 1 in the example (here the coarsest pyramid level), so trace at a
        # size where each level has at least 2 positions
        smallest = 2 * _largest_stride(model, kind)
        shape = (max(shape[0], smallest), max(shape[1], smallest))
        dynamic_shapes = ({2: torch.export.Dim.DYNAMIC, 3: torch.export.Dim.DYNAMIC},)
    example = torch.zeros(1, 3, *shape)
    start = time.perf_counter()
    with torch.no_grad(), graphs.symbolic_sizes():
        program = torch.onnx.export(graph, (example,), dynamo=True, input_names=['input'],
                                    output_names=list(graph.output_names), dynamic_shapes=dynamic_shapes,
                                    opset_version=OPSET, external_data=False, verbose=False)
    inputs = program.model.graph.inputs[0].shape
    if dynamic and all(isinstance(size, int) for size in inputs[2:]):
        raise RuntimeError(f'the exporter could not keep the input size dynamic (it traced {inputs}); report this '
                           f'with the config, or export without --dynamic')
    meta = dict(kind=kind, config=cfg.pretty_text, dataset_meta=getattr(model, 'dataset_meta', None) or {},
                export_shape=list(shape), dynamic=dynamic, outputs=list(graph.output_names))
    program.model.metadata_props[META_KEY] = json.dumps(meta)
    checked = [shape, (shape[0] + 32, shape[1] + 64)] if dynamic else [shape]
    measured = {}

    def save_and_check(partial):  # the file gets its final name only once ONNX Runtime agrees with PyTorch
        program.save(partial)
        measured['seconds'] = time.perf_counter() - start
        measured['difference'] = self_check(graph, partial, checked, kind)

    write_atomically(out, save_and_check, what='ONNX file')
    seconds, difference = measured['seconds'], measured['difference']
    return dict(kind=kind, inputs=['input'], outputs=list(graph.output_names), seconds=seconds,
                size_mb=osp.getsize(out) / 2 ** 20, checked_shapes=checked, max_difference=difference)


def self_check(graph: torch.nn.Module, path: str, shapes: List[Tuple[int, int]], kind: str,
               tolerance: float = 1e-3) -> float:
    """Run the written file in ONNX Runtime and ``graph`` in PyTorch on a random input of each of ``shapes``;
    return the largest output difference relative to the output's largest magnitude (at least 1), and raise if it
    exceeds ``tolerance``: an exporter that fixed a size inside the graph is caught here, not in a user's results.
    A detector's candidates are compared by their sorted scores (equal scores may come out in another order)."""
    import onnxruntime
    session = onnxruntime.InferenceSession(path, providers=['CPUExecutionProvider'])
    generator = torch.Generator().manual_seed(0)
    worst = 0.
    for shape in shapes:
        inputs = torch.randn(1, 3, *shape, generator=generator)
        with torch.no_grad():
            expected = graph(inputs)
        expected = expected if isinstance(expected, (tuple, list)) else (expected,)
        got = session.run(None, {'input': inputs.numpy()})
        if kind == 'detector':
            expected, got = [np.sort(expected[1].numpy())], [np.sort(got[1])]
        for want, have in zip(expected, got):
            want = want.numpy() if torch.is_tensor(want) else want
            if want.shape != have.shape:
                raise RuntimeError(f'{path}: ONNX Runtime gives an output of shape {have.shape} at input {shape}, '
                                   f'PyTorch {want.shape}; the export is wrong')
            scale = max(1., float(np.abs(want).max())) if want.size else 1.
            worst = max(worst, float(np.abs(want.astype(np.float64) - have).max()) / scale if want.size else 0.)
        if worst > tolerance:
            raise RuntimeError(f'{path}: ONNX Runtime differs from PyTorch by {worst:.3g} (relative) at input '
                               f'{shape[0]}x{shape[1]}; the export is wrong (a size fixed at export time?)')
    return worst


def _largest_stride(model: torch.nn.Module, kind: str) -> int:
    """The largest stride (input pixels per output position) among the graph's outputs."""
    head = getattr(model, 'bbox_head', None)
    if kind == 'detector' and hasattr(head, 'prior_generator'):
        return int(max(max(stride) if isinstance(stride, (tuple, list)) else stride
                       for stride in head.prior_generator.strides))
    return 32


class OnnxModel:
    """An exported model in ONNX Runtime (CPU) with its config's pre- and post-processing.

    Attributes: ``kind``, ``cfg`` (the config the model was exported with), ``dataset_meta``, ``export_shape``
    (h, w), ``dynamic``, ``session`` (the ``onnxruntime.InferenceSession``).
    """

    def __init__(self, path: str, threads: Optional[int] = None):
        import onnx
        import onnxruntime
        if not osp.isfile(path):
            raise ConfigError(f'ONNX model {path} does not exist; write one with tools/deployment/export_onnx.py')
        try:
            props = {p.key: p.value for p in onnx.load(path, load_external_data=False).metadata_props}
        except Exception as exc:  # protobuf DecodeError and friends for a file that is not ONNX
            raise ConfigError(f'{path} is not an ONNX model ({type(exc).__name__}); pass a file written by '
                              f'tools/deployment/export_onnx.py') from None
        if META_KEY not in props:
            raise ConfigError(f'{path} has no {META_KEY} metadata; export it with tools/deployment/export_onnx.py')
        meta = json.loads(props[META_KEY])
        self.kind = meta['kind']
        self.cfg = Config.fromstring(meta['config'], file_format='.py')
        self.dataset_meta = dict(meta['dataset_meta'])
        if 'classes' in self.dataset_meta:  # JSON has no tuples: the datasets' own types again
            self.dataset_meta['classes'] = tuple(self.dataset_meta['classes'])
        if 'palette' in self.dataset_meta:
            self.dataset_meta['palette'] = [tuple(colour) for colour in self.dataset_meta['palette']]
        self.export_shape = tuple(meta['export_shape'])
        self.dynamic = meta['dynamic']
        self.output_names = meta['outputs']
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(path, options, providers=['CPUExecutionProvider'])
        self._preprocessor = None

    def run(self, inputs: np.ndarray) -> List[np.ndarray]:
        """The graph's raw outputs for a preprocessed (1, 3, H, W) float32 batch."""
        if not self.dynamic and tuple(inputs.shape[-2:]) != self.export_shape:
            raise ConfigError(f'this ONNX model was exported for {self.export_shape[0]}x{self.export_shape[1]} '
                              f'inputs, got {inputs.shape[-2]}x{inputs.shape[-1]}; export it with --dynamic (or '
                              f'--shape {inputs.shape[-2]} {inputs.shape[-1]})')
        return self.session.run(None, {'input': np.ascontiguousarray(inputs, dtype=np.float32)})

    def postprocess(self, outputs: List[np.ndarray], metainfo: dict):
        """What the PyTorch test path returns for one image, from the graph's outputs: detections (dict of
        ``bboxes``/``scores``/``labels`` in original-image pixels), the (h, w) label map, or the feature list."""
        if self.kind == 'detector':
            return postprocess.detections_from_candidates(
                *outputs, test_cfg=self.cfg.model.test_cfg, img_shape=metainfo['img_shape'],
                scale_factor=metainfo.get('scale_factor', (1., 1.)))
        if self.kind == 'segmentor':
            padding = metainfo.get('img_padding_size', metainfo.get('padding_size', [0] * 4))
            if self.output_names == ['labels']:
                return postprocess.labels_from_label_map(outputs[0][0], padding, metainfo['ori_shape'])
            align_corners = self.cfg.model.decode_head.get('align_corners', False)
            return postprocess.labels_from_logits(outputs[0][0], padding, metainfo['ori_shape'], align_corners)
        return outputs

    def predict(self, img: np.ndarray):
        """Run one BGR uint8 image through the config's test pipeline and data preprocessor, the graph and the
        post-processing. Returns ``(result, metainfo)`` (see :meth:`postprocess`)."""
        if self._preprocessor is None:
            self._preprocessor = build_data_preprocessor(self.cfg)
        inputs, sample, _ = prepare_inputs(self._preprocessor, self.cfg, img)
        return self.postprocess(self.run(inputs.numpy()), sample.metainfo), sample.metainfo

    def data_sample(self, result, metainfo: dict):
        """``result`` of :meth:`postprocess` as the mmdet ``DetDataSample`` / mmseg ``SegDataSample`` that
        evaluators and visualizers take."""
        if self.kind == 'backbone':
            raise ConfigError('a backbone-only ONNX model has features, not predictions to draw or evaluate')
        return task_of(self.cfg).prediction_sample(result, metainfo)
