"""Deployment: ONNX export of a backbone, a Semantic FPN (any mmseg EncoderDecoder) or a RetinaNet, and inference in
ONNX Runtime with the config's pre- and post-processing (see README "Deploy")."""
from .onnx_model import OnnxModel, export_onnx

__all__ = ['OnnxModel', 'export_onnx']
