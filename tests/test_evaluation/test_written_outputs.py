"""mmpoolformer/evaluation: the metrics the runner builds instead of MMEngine's / MMDetection's / MMSegmentation's
give their results and files (checked against the original classes), and write them completely or not at all."""
import os

import cv2
import mmengine
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData

from mmpoolformer.errors import FileWriteError
from mmpoolformer.evaluation import replace_metrics
from mmpoolformer.evaluation.detection import CocoMetricScoringEmpty, DumpDetResultsAtomically
from mmpoolformer.evaluation.dump import DumpResultsAtomically
from mmpoolformer.evaluation.segmentation import IoUMetricWritingMapsAtomically
from tests.test_fileio import file_size_limit


def test_replace_metrics_maps_configs_and_keeps_arguments():
    evaluator = [dict(type='CocoMetric', ann_file='a.json', metric=['bbox']), dict(type='mmdet.DumpDetResults',
                                                                                   out_file_path='r.pkl')]
    replaced = replace_metrics(evaluator)
    assert replaced == [dict(type=CocoMetricScoringEmpty, ann_file='a.json', metric=['bbox']),
                        dict(type=DumpDetResultsAtomically, out_file_path='r.pkl')]
    assert replace_metrics(dict(type='Evaluator', metrics=dict(type='IoUMetric', iou_metrics=['mIoU']))) == dict(
        type='Evaluator', metrics=dict(type=IoUMetricWritingMapsAtomically, iou_metrics=['mIoU']))
    assert replace_metrics(dict(type='DumpResults', out_file_path='x.pkl')) == dict(type=DumpResultsAtomically,
                                                                                      out_file_path='x.pkl')
    assert replace_metrics(dict(type='Accuracy', topk=(1, 5))) == dict(type='Accuracy', topk=(1, 5))


def seg_samples(rng, names, reduce_zero_label):
    samples = []
    for name in names:
        pred = torch.from_numpy(rng.integers(0, 5, (1, 24, 32)))
        gt = torch.from_numpy(rng.integers(0, 5, (1, 24, 32)))
        samples.append(dict(img_path=f'/data/images/{name}.jpg', reduce_zero_label=reduce_zero_label,
                            pred_sem_seg=PixelData(data=pred).to_dict(), gt_sem_seg=PixelData(data=gt).to_dict()))
    return samples


@pytest.mark.parametrize('reduce_zero_label', [False, True])
def test_label_maps_and_miou_equal_mmseg_iou_metric(tmp_path, reduce_zero_label):
    from mmseg.evaluation import IoUMetric
    samples = seg_samples(np.random.default_rng(0), ['a', 'b', 'c'], reduce_zero_label)
    results = {}
    for label, cls in (('mmseg', IoUMetric), ('ours', IoUMetricWritingMapsAtomically)):
        metric = cls(output_dir=str(tmp_path / label))
        metric.dataset_meta = dict(classes=[f'c{i}' for i in range(5)])
        metric.process({}, samples)
        results[label] = metric.evaluate(len(samples))
    assert results['ours'] == results['mmseg']
    for name in ('a', 'b', 'c'):
        theirs = cv2.imread(str(tmp_path / 'mmseg' / f'{name}.png'), cv2.IMREAD_UNCHANGED)
        ours = cv2.imread(str(tmp_path / 'ours' / f'{name}.png'), cv2.IMREAD_UNCHANGED)
        assert ours.dtype == theirs.dtype == np.uint8 and np.array_equal(ours, theirs)
    assert sorted(os.listdir(tmp_path / 'ours')) == ['a.png', 'b.png', 'c.png']


def test_result_dumps_equal_the_originals_and_a_failed_dump_leaves_nothing(tmp_path):
    from mmengine.evaluator import DumpResults
    results = [dict(img_id=i, scores=np.arange(50_000, dtype=np.float32) * i) for i in range(4)]
    for label, cls in (('original', DumpResults), ('ours', DumpResultsAtomically)):
        cls(out_file_path=str(tmp_path / f'{label}.pkl')).compute_metrics(results)
    original, ours = mmengine.load(str(tmp_path / 'original.pkl')), mmengine.load(str(tmp_path / 'ours.pkl'))
    assert all(a['img_id'] == b['img_id'] and np.array_equal(a['scores'], b['scores']) for a, b in zip(original, ours))
    out = tmp_path / 'limited.pkl'
    with file_size_limit(100_000), pytest.raises(FileWriteError, match=r'^could not write the results file '
                                                                         r'limited\.pkl in .*errno 27'):
        DumpDetResultsAtomically(out_file_path=str(out)).compute_metrics(results)
    assert not out.exists() and not list(tmp_path.glob('.*partial'))
