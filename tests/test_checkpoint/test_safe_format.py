"""mmpoolformer/checkpoint/safe_format.py: what a training checkpoint holds survives the round trip through a file
that torch.load(weights_only=True) opens."""
import collections
import io

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

from mmpoolformer.checkpoint.safe_format import from_safe, to_safe


def test_round_trip_through_the_safe_loader_keeps_types_and_values():
    buffer = HistoryBuffer()
    for value in (0.5, 1.5):
        buffer.update(value)
    checkpoint = dict(milestones=collections.Counter({8: 1, 11: 1}), ordered=collections.OrderedDict(b=1, a=2),
                      array=np.arange(6, dtype=np.int16).reshape(2, 3), scalar=np.float32(2.5),
                      dtype=np.dtype('<f8'), history=buffer, queue=collections.deque([1, 2]))
    stream = io.BytesIO()
    torch.save(to_safe(checkpoint), stream)
    stream.seek(0)
    back = from_safe(torch.load(stream, weights_only=True))
    assert type(back['milestones']) is collections.Counter and back['milestones'] == checkpoint['milestones']
    assert list(back['ordered'].items()) == [('b', 1), ('a', 2)]
    assert back['array'].dtype == np.int16 and np.array_equal(back['array'], checkpoint['array'])
    assert back['scalar'] == np.float32(2.5) and back['scalar'].dtype == np.float32
    assert back['dtype'] == np.dtype('<f8') and back['queue'] == [1, 2]
    assert np.array_equal(back['history'].data[0], buffer.data[0]) and back['history'].mean() == 1.0
