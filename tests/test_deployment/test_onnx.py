"""ONNX export and ONNX Runtime inference (mmpoolformer/deployment, tools/deployment) on tiny random models."""
import contextlib
import re

import mmcv
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmpoolformer.demo_data import make_demo_data
from mmpoolformer.deployment import OnnxModel, export_onnx, graphs
from mmpoolformer.deployment.postprocess import classwise_nms, resize_bilinear
from mmpoolformer.deployment.verify import compare_with_pytorch, set_test_scale
from tests.helpers import ROOT, error_line, printed_metrics, run_tool_here

TINY_ARCH = "dict(_delete_=True, depths=[1, 1, 1, 1], embed_dims=[8, 16, 24, 32], layer_scale_init_value=0.5)"
TINY_RETINANET = """_base_ = ['{root}/configs/quickstart/retinanet_poolformer_s12_demo.py']
demo_data = None
model = dict(backbone=dict(arch={arch}), neck=dict(in_channels=[16, 24, 32], out_channels=16),
             bbox_head=dict(in_channels=16, feat_channels=16, stacked_convs=1, norm_cfg=dict(num_groups=4)))
test_dataloader = dict(batch_size=2, dataset=dict(data_root='{data}/coco/'))
test_evaluator = dict(ann_file='{data}/coco/annotations/instances_val2017.json')
"""
TINY_FPN = """_base_ = ['{root}/configs/quickstart/fpn_poolformer_s12_demo.py']
demo_data = None
model = dict(backbone=dict(arch={arch}), neck=dict(in_channels=[8, 16, 24, 32], out_channels=16),
             decode_head=dict(in_channels=[16, 16, 16, 16], channels=16))
test_dataloader = dict(dataset=dict(data_root='{data}/ade'))
"""


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('deploy_data')
    make_demo_data(str(root), seed=3, num_train=1, num_val=6, size=128)
    return root


def randomise(model: torch.nn.Module) -> torch.nn.Module:
    """Perturb every parameter and BN statistic (a random model whose outputs are far from its init)."""
    torch.manual_seed(0)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(0.3 * torch.randn_like(param))
        for name, buf in model.named_buffers():
            if name.endswith('running_var'):
                buf.uniform_(0.5, 2.)
    return model.eval()


def tiny(tmp_path, data, template, name):
    """(model, cfg, config path, checkpoint path) of a randomised tiny model; a RetinaNet's classifier bias is 0,
    so that hundreds of boxes score above the 0.05 threshold and reach NMS."""
    from mmpoolformer.apis import init_model
    config = tmp_path / f'{name}.py'
    config.write_text(template.format(root=ROOT, data=data, arch=TINY_ARCH))
    model, cfg = init_model(str(config), fast={})
    randomise(model)
    if hasattr(model, 'bbox_head'):
        with torch.no_grad():
            model.bbox_head.retina_cls.bias.zero_()
    checkpoint = tmp_path / f'{name}.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(dataset_meta=model.dataset_meta)), checkpoint)
    return model, cfg, config, checkpoint


@pytest.mark.parametrize('deploy', [False, True])
def test_backbone_features_equal_pytorch_at_two_sizes(data, tmp_path, deploy):
    model, cfg, _, _ = tiny(tmp_path, data, TINY_FPN, 'fpn')
    if deploy:
        model.backbone.switch_to_deploy()
    out = tmp_path / 'backbone.onnx'
    report = export_onnx(model, cfg, str(out), (96, 128), dynamic=True, backbone_only=True)
    assert report['kind'] == 'backbone' and report['outputs'] == ['feat0', 'feat1', 'feat2', 'feat3']
    onnx_model = OnnxModel(str(out))
    for shape in [(96, 128), (160, 96)]:  # the traced size and another one
        inputs = torch.randn(1, 3, *shape)
        with torch.no_grad():
            expected = model.backbone(inputs)
        got = onnx_model.run(inputs.numpy())
        assert [g.shape for g in got] == [tuple(e.shape) for e in expected]
        assert max(float(np.abs(g - e.numpy()).max()) for g, e in zip(got, expected)) <= 1e-4


def test_segmentor_label_maps_equal_pytorch_on_demo_images_at_two_sizes(data, tmp_path):
    model, cfg, _, _ = tiny(tmp_path, data, TINY_FPN, 'fpn')
    out = tmp_path / 'fpn.onnx'
    export_onnx(model, cfg, str(out), (96, 96), dynamic=True)
    onnx_model = OnnxModel(str(out))
    for scale, size in [((384, 96), (96, 96)), ((512, 160), (160, 160))]:
        set_test_scale(cfg, scale)
        report = compare_with_pytorch(model, cfg, onnx_model)
        assert report['images'] == 6 and report['input_shapes'] == [size]
        assert report['pixel_agreement'] >= 0.999
        assert report['metrics_onnx']['mIoU'] == pytest.approx(report['metrics_pytorch']['mIoU'], abs=0.1)


def test_detections_match_pytorch_one_to_one_at_two_sizes(data, tmp_path):
    model, cfg, _, _ = tiny(tmp_path, data, TINY_RETINANET, 'retinanet')
    out = tmp_path / 'retinanet.onnx'
    export_onnx(model, cfg, str(out), (128, 128), dynamic=True)
    onnx_model = OnnxModel(str(out))
    for scale, size in [((128, 128), (128, 128)), ((96, 96), (96, 96))]:
        set_test_scale(cfg, scale)
        report = compare_with_pytorch(model, cfg, onnx_model)
        assert report['input_shapes'] == [size]
        assert report['matched'] >= 6 * 50  # NMS keeps up to 100 per image
        assert report['only_ref'] == 0 and report['only_got'] == 0
        assert report['metrics_onnx']['coco/bbox_mAP'] == pytest.approx(report['metrics_pytorch']['coco/bbox_mAP'],
                                                                         abs=1e-3)


def test_a_size_fixed_inside_the_graph_is_caught_at_export(data, tmp_path, monkeypatch):
    """Without the symbolic-size rewrite of mmseg's Upsample the dynamic graph keeps the traced sizes; the
    export's own check in ONNX Runtime at a second size must refuse the file, which never gets its name."""
    model, cfg, _, _ = tiny(tmp_path, data, TINY_FPN, 'fpn')
    monkeypatch.setattr(graphs, 'symbolic_sizes', contextlib.nullcontext)
    with pytest.raises(RuntimeError, match=r'differs from PyTorch by .* at input 128x160; the export is wrong'):
        export_onnx(model, cfg, str(tmp_path / 'bad.onnx'), (96, 96), dynamic=True)
    assert not list(tmp_path.glob('*bad.onnx*'))  # a refused export leaves no file, not even a partial one


def test_static_export_refuses_another_size_in_one_line(data, tmp_path):
    from mmpoolformer.errors import ConfigError
    model, cfg, _, _ = tiny(tmp_path, data, TINY_FPN, 'fpn')
    export_onnx(model, cfg, str(tmp_path / 'static.onnx'), (96, 96))
    with pytest.raises(ConfigError, match=r'^this ONNX model was exported for 96x96 inputs, got 64x96; export it '
                                          r'with --dynamic \(or --shape 64 96\)$'):
        OnnxModel(str(tmp_path / 'static.onnx')).run(np.zeros((1, 3, 64, 96), np.float32))


def test_classwise_nms_keeps_what_mmcv_batched_nms_keeps():
    from mmcv.ops import batched_nms
    rng = np.random.RandomState(0)
    xy = rng.uniform(0, 100, (300, 2)).astype(np.float32)
    boxes = np.concatenate([xy, xy + rng.uniform(5, 40, (300, 2)).astype(np.float32)], axis=1)
    scores = rng.uniform(0.05, 1, 300).astype(np.float32)
    labels = rng.randint(0, 3, 300)
    _, expected = batched_nms(torch.from_numpy(boxes), torch.from_numpy(scores), torch.from_numpy(labels),
                              dict(type='nms', iou_threshold=0.5))
    assert classwise_nms(boxes, scores, labels, 0.5).tolist() == expected.tolist()


@pytest.mark.parametrize('align_corners', [False, True])
def test_bilinear_resize_equals_torch_interpolate(align_corners):
    maps = np.random.RandomState(0).randn(5, 24, 30).astype(np.float32)
    for size in [(96, 120), (17, 41), (10, 10)]:
        expected = F.interpolate(torch.from_numpy(maps)[None], size=size, mode='bilinear',
                                 align_corners=align_corners)[0].numpy()
        assert np.abs(resize_bilinear(maps, size, align_corners) - expected).max() <= 1e-5


def test_onnx_predictions_on_raw_images_equal_pytorch(data, tmp_path):
    """The runtime's own preprocessing (config test pipeline, preprocessor) on images of another size and colour
    format gives the detections of mmdet's inference_detector."""
    from mmpoolformer.apis import predict
    from mmpoolformer.deployment.verify import match_detections
    model, cfg, _, _ = tiny(tmp_path, data, TINY_RETINANET, 'retinanet')
    export_onnx(model, cfg, str(tmp_path / 'model.onnx'), (128, 128), dynamic=True)
    onnx_model = OnnxModel(str(tmp_path / 'model.onnx'))
    image = mmcv.imread(str(next((data / 'coco' / 'val2017').glob('*.jpg'))))
    for img in (image, mmcv.imresize(mmcv.bgr2gray(image, keepdim=True).repeat(3, axis=2), (150, 110))):
        result, metainfo = onnx_model.predict(img)
        assert metainfo['ori_shape'] == img.shape[:2]
        expected = {k: v.numpy() for k, v in predict(model, cfg, img).pred_instances.items()}
        matched = match_detections(expected, result)
        assert matched['matched'] >= 50 and matched['only_ref'] == matched['only_got'] == 0


def test_tools_export_infer_and_verify(data, tmp_path):
    _, _, config, checkpoint = tiny(tmp_path, data, TINY_RETINANET, 'retinanet')
    model = tmp_path / 'model.onnx'
    export = run_tool_here('tools/deployment/export_onnx.py', config, checkpoint, '--out', model, '--dynamic',
                           '--deploy')
    assert f'wrote {model} (' in export.stdout and 'detector, any height and width' in export.stdout
    assert re.search(r'checked in ONNX Runtime against PyTorch at 256x256, 288x320: largest relative difference',
                     export.stdout)
    gray = tmp_path / 'gray.png'  # another size, one channel
    image = next((data / 'coco' / 'val2017').glob('*.jpg'))
    mmcv.imwrite(mmcv.imresize(mmcv.imread(str(image), flag='grayscale'), (150, 110)), str(gray))
    infer = run_tool_here('tools/deployment/onnx_infer.py', model, gray, '--out', tmp_path / 'onnx.png')
    assert re.search(r'^\d+ detections with score >= 0.3 \(\d+ in all\)$', infer.stdout, re.M)
    drawn = mmcv.imread(str(tmp_path / 'onnx.png'))
    assert drawn.shape == (110, 150, 3) and (drawn != mmcv.imread(str(gray))).mean() > 0.01  # boxes drawn
    verify = run_tool_here('tools/deployment/verify_onnx.py', config, checkpoint, model, '--scale', '160', '160')
    assert '6 images, input sizes 160x160' in verify.stdout
    assert 'only in PyTorch: 0, only in ONNX: 0' in verify.stdout
    metrics = printed_metrics(verify.stdout)
    assert metrics['onnx/coco/bbox_mAP'] == pytest.approx(metrics['pytorch/coco/bbox_mAP'], abs=1e-3)


def test_bad_inputs_end_in_one_line(data, tmp_path):
    _, _, fpn_config, fpn_checkpoint = tiny(tmp_path, data, TINY_FPN, 'fpn')
    _, _, retina_config, _ = tiny(tmp_path, data, TINY_RETINANET, 'retinanet')
    out = tmp_path / 'x.onnx'
    cases = [
        ((retina_config, fpn_checkpoint, '--out', out),
         f"error: checkpoint {fpn_checkpoint} does not fit the model with PoolFormer(arch='custom'): "
         f"neck.lateral_convs.0.conv.weight has shape (16, 8, 1, 1) in the file but (16, 16, 1, 1) in the model; use a "
         f"checkpoint trained with this config"),
        ((fpn_config, tmp_path / 'missing.pth', '--out', out),
         f'error: checkpoint {tmp_path / "missing.pth"} does not exist; check the path (or pass an http(s) URL)'),
    ]
    for args, message in cases:
        proc = run_tool_here('tools/deployment/export_onnx.py', *args, check=False)
        assert error_line(proc) == message and not out.exists()
    proc = run_tool_here('tools/deployment/onnx_infer.py', tmp_path / 'none.onnx', 'x.jpg', check=False)
    assert proc.returncode == 2
    assert error_line(proc) == (f'error: ONNX model {tmp_path / "none.onnx"} does not exist; write one with '
                                   f'tools/deployment/export_onnx.py')
    run_tool_here('tools/deployment/export_onnx.py', fpn_config, fpn_checkpoint, '--out', out)
    proc = run_tool_here('tools/deployment/onnx_infer.py', out, tmp_path / 'no.jpg', check=False)
    assert proc.returncode == 2
    assert error_line(proc) == f'error: image {tmp_path / "no.jpg"} does not exist; check the path'



def test_unsupported_detector_is_one_clear_error(tmp_path):
    from mmpoolformer.apis import init_model
    from mmpoolformer.errors import ConfigError
    config = tmp_path / 'fcos.py'
    config.write_text(f"_base_ = ['{ROOT}/configs/other_detectors/fcos_poolformer_s12_fpn_coco.py']\n"
                      f"model = dict(backbone=dict(arch={TINY_ARCH}))\n")
    model, cfg = init_model(str(config), fast={})
    with pytest.raises(ConfigError, match=r'^ONNX export of FCOS is not supported \(FCOSHead uses '
                                          r'MlvlPointGenerator/DistancePointBBoxCoder, not '
                                          r'AnchorGenerator/DeltaXYWHBBoxCoder\); supported: '):
        export_onnx(model, cfg, str(tmp_path / 'fcos.onnx'), (64, 64))


def test_label_map_output_is_the_argmax_of_the_logits(data, tmp_path):
    model, cfg, _, _ = tiny(tmp_path, data, TINY_FPN, 'fpn')
    export_onnx(model, cfg, str(tmp_path / 'logits.onnx'), (96, 128))
    export_onnx(model, cfg, str(tmp_path / 'labels.onnx'), (96, 128), seg_labels=True)
    inputs = np.random.RandomState(0).randn(1, 3, 96, 128).astype(np.float32)
    logits = OnnxModel(str(tmp_path / 'logits.onnx')).run(inputs)[0]
    labels = OnnxModel(str(tmp_path / 'labels.onnx')).run(inputs)[0]
    assert logits.shape == (1, 5, 96, 128) and labels.shape == (1, 1, 96, 128) and labels.dtype == np.int64
    assert np.array_equal(labels[:, 0], logits.argmax(axis=1))


def test_benchmark_times_onnx_runtime_against_pytorch(data, tmp_path):
    _, _, config, checkpoint = tiny(tmp_path, data, TINY_RETINANET, 'retinanet')
    proc = run_tool_here('tools/analysis/benchmark.py', 'onnx', config, '--checkpoint', checkpoint, '--shape', '64',
                         '96', '--repeats', '2', '--warmup', '1', '--out', tmp_path / 'onnx.json')
    assert re.search(r'ONNX Runtime against PyTorch: largest relative difference [\d.e-]+$', proc.stdout, re.M)
    assert re.search(r'^summary: PyTorch eager fp32 [\d.]+ ms; ONNX Runtime [\d.]+ ms \([\d.]+x\)$', proc.stdout, re.M)
    import json
    rows = json.loads((tmp_path / 'onnx.json').read_text())['rows']
    assert [r['name'] for r in rows] == ['PyTorch eager fp32', 'ONNX Runtime fp32']
    assert all(r['median_ms'] > 0 for r in rows)


# The CAFormer configs themselves (their model, preprocessor and test pipeline), with a tiny CAFormer (SepConv stages
# 1-2, attention stages 3-4: 64 channels = 2 heads of 32), small heads and the demo data. The RetinaNet head gets a
# GroupNorm (as the quickstart's): without it the randomised head's scores saturate at 1, and tied scores make NMS
# keep arbitrary boxes in either runtime.
TINY_CAFORMER = 'dict(_delete_=True, depths=[1, 1, 1, 1], embed_dims=[32, 32, 64, 64])'
CAFORMER_RETINANET = """_base_ = ['{root}/configs/retinanet_caformer_s18_fpn_coco.py']
model = dict(backbone=dict(arch={arch}, init_cfg=None), neck=dict(in_channels=[32, 64, 64], out_channels=16),
             bbox_head=dict(num_classes=4, in_channels=16, feat_channels=16, stacked_convs=1,
                            norm_cfg=dict(type='GN', num_groups=4, requires_grad=True)))
test_dataloader = dict(batch_size=2, dataset=dict(
    data_root='{data}/coco/', metainfo=dict(classes=('circle', 'square', 'triangle', 'cross'))))
test_evaluator = dict(ann_file='{data}/coco/annotations/instances_val2017.json')
"""
CAFORMER_FPN = """_base_ = ['{root}/configs/fpn_caformer_s18_ade20k_40k.py']
model = dict(data_preprocessor=dict(size=(96, 96)), backbone=dict(arch={arch}, init_cfg=None),
             neck=dict(in_channels=[32, 32, 64, 64], out_channels=16),
             decode_head=dict(in_channels=[16, 16, 16, 16], channels=16, num_classes=5))
test_dataloader = dict(dataset=dict(
    _delete_=True, type='BaseSegDataset', data_root='{data}/ade', img_suffix='.jpg', seg_map_suffix='.png',
    reduce_zero_label=True, metainfo=dict(classes=('background', 'circle', 'square', 'triangle', 'cross')),
    data_prefix=dict(img_path='images/validation', seg_map_path='annotations/validation'),
    pipeline=[dict(type='LoadImageFromFile'),
              dict(type='mmpoolformer.AlignResize', scale=(384, 96), keep_ratio=True, size_divisor=32),
              dict(type='LoadAnnotations', reduce_zero_label=True), dict(type='PackSegInputs')]))
"""


def tiny_caformer(tmp_path, data, template, name):
    model, cfg, config, checkpoint = tiny(tmp_path, data, template.replace('{arch}', TINY_CAFORMER), name)
    assert type(model.backbone).__name__ == 'CAFormer'
    assert [type(stage.blocks[0].token_mixer).__name__ for stage in model.backbone.stages] == \
        ['SepConv', 'SepConv', 'Attention', 'Attention']
    return model, cfg, config, checkpoint


def test_caformer_retinanet_exports_and_verifies_in_onnx_runtime(data, tmp_path):
    """A CAFormer RetinaNet (configs/retinanet_caformer_s18_fpn_coco.py, tiny arch), folded for deployment, exported
    with dynamic sizes: ONNX Runtime gives PyTorch's detections one to one on the demo images at two sizes."""
    model, cfg, _, _ = tiny_caformer(tmp_path, data, CAFORMER_RETINANET, 'caformer_retinanet')
    assert model.backbone.switch_to_deploy() == []  # SepConv and attention take every affine term
    report = export_onnx(model, cfg, str(tmp_path / 'caformer_retinanet.onnx'), (128, 128), dynamic=True)
    assert report['kind'] == 'detector' and report['max_difference'] <= 1e-3
    onnx_model = OnnxModel(str(tmp_path / 'caformer_retinanet.onnx'))
    for scale, size in [((128, 128), (128, 128)), ((96, 96), (96, 96))]:
        set_test_scale(cfg, scale)
        report = compare_with_pytorch(model, cfg, onnx_model)
        assert report['images'] == 6 and report['input_shapes'] == [size]
        assert report['matched'] >= 6 * 90
        # all but a few of the 100 kept per image: where the 100th and 101st scores of a random model differ by
        # less than the two runtimes' rounding (~1e-7), one box is swapped for another at the max_per_img cut
        assert report['only_ref'] == report['only_got'] <= 0.02 * report['matched']
        assert report['metrics_onnx']['coco/bbox_mAP'] == pytest.approx(report['metrics_pytorch']['coco/bbox_mAP'],
                                                                         abs=1e-3)


def test_caformer_semantic_fpn_exports_and_verifies_in_onnx_runtime(data, tmp_path):
    """A CAFormer Semantic FPN (configs/fpn_caformer_s18_ade20k_40k.py, tiny arch) through the tools: export with
    dynamic sizes, then tools/deployment/verify_onnx.py on the demo images: the label maps of ONNX Runtime and
    PyTorch agree and so do their mIoU."""
    _, _, config, checkpoint = tiny_caformer(tmp_path, data, CAFORMER_FPN, 'caformer_fpn')
    out = tmp_path / 'caformer_fpn.onnx'
    export = run_tool_here('tools/deployment/export_onnx.py', config, checkpoint, '--out', out, '--dynamic')
    assert 'segmentor, any height and width' in export.stdout
    assert re.search(r'checked in ONNX Runtime against PyTorch at 96x96, 128x160: largest relative difference',
                     export.stdout)
    verify = run_tool_here('tools/deployment/verify_onnx.py', config, checkpoint, out, '--scale', '512', '128')
    assert '6 images, input sizes 128x128' in verify.stdout
    assert float(re.search(r'^label pixels equal: ([\d.]+) %$', verify.stdout, re.M).group(1)) >= 99.9
    metrics = printed_metrics(verify.stdout)
    assert metrics['onnx/mIoU'] == pytest.approx(metrics['pytorch/mIoU'], abs=0.1)
