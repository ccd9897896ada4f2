"""mmpoolformer/checkpoint/fit.py: the one fit check, its three refusals with their exact lines and what it lets
through."""
import re

import pytest
import torch

from mmpoolformer.checkpoint import check_fit
from mmpoolformer.errors import CheckpointError

MODEL = {'a.weight': torch.zeros(4, 3), 'a.bias': torch.zeros(4), 'out_norms.0.weight': torch.zeros(4)}
FIX = 'use the file made for this arch'


def refusal(detail: str) -> str:
    return re.escape(f'checkpoint f.pth does not fit M: {detail}; {FIX}')


def test_a_shape_a_lacking_and_an_extra_tensor_are_each_refused_by_name():
    with pytest.raises(CheckpointError, match=refusal('a.weight has shape (4, 2) in the file but (4, 3) in the '
                                                      'model')):
        check_fit(MODEL, dict(MODEL, **{'a.weight': torch.zeros(4, 2)}), 'f.pth', 'M', FIX)
    lacking = {k: v for k, v in MODEL.items() if k != 'a.bias'}
    with pytest.raises(CheckpointError, match=refusal('the model needs a.bias (4,), which the file lacks (1 such '
                                                      'tensors)')):
        check_fit(MODEL, lacking, 'f.pth', 'M', FIX)
    with pytest.raises(CheckpointError, match=refusal('the file has b.weight (2,), which the model does not have '
                                                      '(1 such tensors)')):
        check_fit(MODEL, dict(MODEL, **{'b.weight': torch.zeros(2)}), 'f.pth', 'M', FIX)


def test_what_the_caller_allows_passes_and_the_lacking_keys_are_returned():
    file_state = {'a.weight': torch.zeros(4, 3), 'a.bias': torch.zeros(4), 'out_norms.3.weight': torch.zeros(8)}
    is_norm = lambda key: key.startswith('out_norms.')  # noqa: E731
    assert check_fit(MODEL, file_state, 'f.pth', 'M', FIX, may_lack=is_norm, may_have_extra=is_norm) == [
        'out_norms.0.weight']
    assert check_fit(MODEL, dict(MODEL), 'f.pth', 'M', FIX) == []
