"""Reaching into a model's layers: the network as a module of one input, a layer by name, the part of a map that
covers the image."""
import difflib

import torch

from ..errors import ConfigError


class TensorForward(torch.nn.Module):
    """``model(inputs, data_samples, mode='tensor')`` (the network's raw outputs, no post-processing) as a module
    of one argument, for tracers and CAM tools that call ``module(inputs)``."""

    def __init__(self, model: torch.nn.Module, data_samples=None):
        super().__init__()
        self.model = model
        self.data_samples = data_samples

    def forward(self, inputs: torch.Tensor):
        return self.model(inputs, self.data_samples, mode='tensor')


def find_layer(model, name: str) -> torch.nn.Module:
    """The submodule called ``name`` (e.g. ``backbone.out_norms.3``); an unknown name is a one-line error that
    lists the closest names."""
    try:
        return model.get_submodule(name)
    except AttributeError:
        names = [n for n, _ in model.named_modules() if n]
        close = difflib.get_close_matches(name, names, n=4, cutoff=0.6)
        raise ConfigError(f"layer '{name}' is not in the model ({type(model).__name__}); "
                          + (f'closest: {", ".join(close)}' if close else f'e.g. {", ".join(names[:4])}')
                          + ' (any name of model.named_modules())') from None


def valid_region(tensor: torch.Tensor, data_sample, inputs: torch.Tensor) -> torch.Tensor:
    """Crop a (..., h, w) map computed from padded ``inputs`` to the part that covers the image (not the padding)."""
    img_h, img_w = data_sample.metainfo['img_shape'][:2]
    pad_h, pad_w = inputs.shape[-2:]
    h = max(1, int(round(tensor.shape[-2] * img_h / pad_h)))
    w = max(1, int(round(tensor.shape[-1] * img_w / pad_w)))
    return tensor[..., :h, :w]
