"""Analysis tools: Params/MACs against the paper, feature maps, class activation maps, effective receptive fields."""
import re

import cv2
import numpy as np
import pytest

from mmpoolformer.demo_data import make_scene
from tests.helpers import ROOT, error_line, run_tool_here

RETINANET = 'configs/quickstart/retinanet_poolformer_s12_demo.py'
FPN = 'configs/quickstart/fpn_poolformer_s12_demo.py'
CLASSIFIER = """default_scope = 'mmpretrain'
custom_imports = dict(imports=['mmpoolformer'], allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], to_rgb=True),
    backbone=dict(type='mmpoolformer.PoolFormer', arch=dict(depths=[1, 1, 2, 1], embed_dims=[16, 24, 32, 40]),
                  out_indices=(3,)),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=4, in_channels=40))
test_dataloader = dict(dataset=dict(
    type='CustomDataset', metainfo=dict(classes=('circle', 'square', 'triangle', 'cross')),
    pipeline=[dict(type='LoadImageFromFile'), dict(type='ResizeEdge', scale=80, edge='short'),
              dict(type='CenterCrop', crop_size=64), dict(type='PackInputs')]))
"""
NO_BACKBONE = """default_scope = 'mmdet'
custom_imports = dict(imports=['mmpoolformer'], allow_failed_imports=False)
model = dict(type='mmpoolformer.PoolFormer', arch=dict(depths=[1, 1, 1, 1], embed_dims=[8, 8, 8, 8]))
"""


@pytest.fixture(scope='module')
def image(tmp_path_factory):
    """A 100x120 scene of the demo data (not square, so the resize and crop arithmetic shows)."""
    img, _ = make_scene(np.random.default_rng(7), 128)
    path = tmp_path_factory.mktemp('analysis') / 'scene.png'
    cv2.imwrite(str(path), cv2.resize(img, (120, 100)))
    return path


def test_params_and_macs_of_all_five_archs_equal_the_paper():
    from mmpoolformer.analysis.macs import PAPER, arch_report
    for arch, (params_m, macs_g) in PAPER.items():
        rows, skipped = arch_report(arch, (224, 224), cls_head=True)
        params, macs = rows['total']
        assert (round(params / 1e6, 1), round(macs / 1e9, 1)) == (params_m, macs_g), arch
        stages = sum(macs for name, (_, macs) in rows.items() if name != 'total')
        assert stages == macs  # the parts add up to the total
        assert {'aten::avg_pool2d', 'aten::gelu'} <= set(skipped)  # named as not counted


def test_table_prints_the_paper_table():
    proc = run_tool_here('tools/analysis/get_flops.py', '--table', 'poolformer')
    rows = re.findall(r'^\| (s12|s24|s36|m36|m48) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|$', proc.stdout,
                      re.M)
    assert [r[0] for r in rows] == ['s12', 's24', 's36', 'm36', 'm48']
    for _, params, macs, paper_params, paper_macs in rows:
        assert (params, macs) == (paper_params, paper_macs)


@pytest.mark.parametrize('name', ['caformer_s18', 'convformer_s18', 'randformer_s12', 'identityformer_m36'])
def test_baseline_params_and_macs_equal_the_official_readme(name):
    """Counted from the classification config as the official README counts (attention's two matrix products
    included, norms not); one size of each kind of mixer and an M size (the full table: --table baselines)."""
    from mmpoolformer.analysis.macs import BASELINES, baseline_row
    assert baseline_row(name, f'{ROOT}/configs/classification/{name}_in1k.py') == (name, *BASELINES[name])


def test_detector_macs_grow_with_the_pixel_count():
    from mmpoolformer.analysis.macs import config_report
    small, _, _ = config_report(f'{ROOT}/{RETINANET}', (128, 128))
    large, _, shape = config_report(f'{ROOT}/{RETINANET}', (256, 256))
    assert shape == (256, 256)
    assert set(small) >= {'stem', 'stage 1', 'stage 4', 'neck', 'bbox_head', 'total'}
    ratio = large['total'][1] / small['total'][1]
    assert 3.8 < ratio < 4.2  # convolutions scale with the pixels (4x), up to rounding of odd feature sizes
    assert large['total'][0] == small['total'][0]  # parameters do not


def test_get_flops_bad_inputs_are_one_line(tmp_path):
    proc = run_tool_here('tools/analysis/get_flops.py', 'x99', check=False)
    assert proc.returncode == 2
    assert error_line(proc) == ("error: 'x99' is neither a config file nor an arch; pass a file "
                                                     "from configs/ or one of s12, s24, s36, m36, m48")
    config = tmp_path / 'no_backbone.py'
    config.write_text(NO_BACKBONE)
    proc = run_tool_here('tools/analysis/get_flops.py', config, check=False)
    assert proc.returncode == 2
    assert error_line(proc) == (
        f'error: {config}: its model (type mmpoolformer.PoolFormer) has no backbone; pass a detector or segmentor '
        f'config')


def drawn(path):
    img = cv2.imread(str(path))
    assert img is not None, path
    return img


def differs_from(img, source):
    """Mean absolute difference between a drawing and the source image resized to it."""
    resized = cv2.resize(cv2.imread(str(source)), (img.shape[1], img.shape[0]))
    return np.abs(img.astype(int) - resized.astype(int)).mean()


# Each drawing is the image as the test pipeline resizes it, upscaled to 256 px on its long side. The 100x120 image:
# RetinaNet's keep-ratio resize into 128x128 gives 107x128 -> 214x256 (213 after rounding); the Semantic FPN's
# AlignResize gives 96x128 (sides to multiples of 32) -> 192x256.
PANEL_HEIGHT = {RETINANET: 213, FPN: 192}


@pytest.mark.parametrize('config,rows', [(RETINANET, 3), (FPN, 4)])
def test_vis_featmap_draws_one_row_per_stage(config, rows, image, tmp_path):
    out = tmp_path / 'featmap.png'
    proc = run_tool_here('tools/visualization/vis_featmap.py', image, config, '--out', out)
    img = drawn(out)
    assert f'wrote {out} ({rows} row(s)' in proc.stdout
    assert abs(img.shape[0] - rows * PANEL_HEIGHT[config]) <= rows and img.shape[1] == 256
    assert differs_from(img[:img.shape[0] // rows], image) > 5
    out_k = tmp_path / 'topk.png'
    run_tool_here('tools/visualization/vis_featmap.py', image, config, '--out', out_k, '--stages', '0', '--topk', '3')
    assert drawn(out_k).shape[:2] == (img.shape[0] // rows, 3 * 256)


@pytest.mark.parametrize('config,extra', [(RETINANET, []), (RETINANET, ['--target-layers', 'neck.fpn_convs.0']),
                                          (FPN, ['--method', 'gradcam']), (FPN, ['--method', 'gradcam++',
                                                                                 '--category', 'square'])])
def test_vis_cam_draws_a_map_over_the_image(config, extra, image, tmp_path):
    out = tmp_path / 'cam.png'
    proc = run_tool_here('tools/visualization/vis_cam.py', image, config, '--out', out, *extra)
    img = drawn(out)
    assert abs(img.shape[0] - PANEL_HEIGHT[config]) <= 1 and img.shape[1] == 256
    assert differs_from(img, image) > 5
    method = extra[extra.index('--method') + 1] if '--method' in extra else 'eigencam'
    assert f'({method} of ' in proc.stdout
    if '--category' in extra:
        assert 'class square' in proc.stdout


def test_vis_tools_bad_inputs_are_one_line(image, tmp_path):
    out = str(tmp_path / 'o.png')
    cases = [
        (['tools/visualization/vis_cam.py', image, RETINANET, '--out', out, '--target-layers', 'backbone.out_norm.3'],
         "error: layer 'backbone.out_norm.3' is not in the model (RetinaNet); closest: backbone.out_norms.3, "
         "backbone.out_norms.2, backbone.out_norms.1, backbone.out_norms (any name of model.named_modules())"),
        (['tools/visualization/vis_cam.py', tmp_path / 'missing.jpg', RETINANET, '--out', out],
         f"error: image {tmp_path / 'missing.jpg'} does not exist; check the path"),
        (['tools/visualization/vis_cam.py', image, RETINANET, '--out', out, '--method', 'gradcam'],
         'error: --method gradcam needs one class score per image; for a detector use --method eigencam'),
        (['tools/visualization/vis_featmap.py', image, RETINANET, '--out', out, '--stages', '3'],
         'error: --stages [3]: the backbone returns 3 outputs (indices 0-2)'),
    ]
    config = tmp_path / 'no_backbone.py'
    config.write_text(NO_BACKBONE)
    for tool in ('visualization/vis_cam.py', 'visualization/vis_featmap.py', 'analysis/erf.py'):
        args = [image, config, '--out', out] if 'vis_' in tool else [config, '--images', tmp_path, '--out', out]
        cases.append(([f'tools/{tool}', *args], f'error: {config}: its model (type mmpoolformer.PoolFormer) has no '
                                                 f'backbone; pass a detector or segmentor config'))
    for args, expected in cases:
        proc = run_tool_here(*args, check=False)
        assert proc.returncode == 2, (args, proc.stderr[-2000:])
        assert error_line(proc) == expected


def test_mass_areas_of_known_fields():
    from mmpoolformer.analysis.erf import mass_areas
    point = np.zeros((10, 10))
    point[4, 4] = 1.
    assert mass_areas(point) == {0.2: 0.01, 0.5: 0.01, 0.9: 0.01}
    assert mass_areas(np.ones((10, 10))) == pytest.approx({0.2: 0.2, 0.5: 0.5, 0.9: 0.9})


def test_erf_compares_mixers_and_pooling_reaches_further_than_identity(tmp_path):
    folder = tmp_path / 'images'
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        cv2.imwrite(str(folder / f'{i}.png'), make_scene(rng, 96)[0])
    out = tmp_path / 'erf.png'
    # (at 128 px the last stage has 4x4 positions; at 64 px its 2x2 positions see almost all of any input)
    proc = run_tool_here('tools/analysis/erf.py', 's12', '--images', folder, '--shape', '128', '128', '--mixers',
                    'Pooling', 'Identity', '--out', out)
    areas = {name: [float(a) for a in re.findall(r'of the mass: ([\d.]+)% of the input', line)]
             for name, line in re.findall(r'^s12 (\w+): (ERF over 2 images at 128x128.*)$', proc.stdout, re.M)}
    assert set(areas) == {'Pooling', 'Identity'}
    for values in areas.values():
        assert 0 < values[0] < values[1] < values[2] <= 100
    assert areas['Pooling'][1] > areas['Identity'][1], areas  # pooling mixes tokens: a wider field than no mixing
    img = drawn(out)
    assert img.shape[1] == 640 and img.shape[0] == 360  # one 320x360 panel per mixer
    assert img.std() > 10


def test_erf_of_a_config_backbone_and_bad_inputs(tmp_path):
    out = tmp_path / 'erf.png'
    proc = run_tool_here('tools/analysis/erf.py', RETINANET, '--images', f'{ROOT}/tests', '--out', out, check=False)
    assert proc.returncode == 2
    assert error_line(proc) == f'error: --images {ROOT}/tests holds no images (jpg, png, bmp)'
    folder = tmp_path / 'images'
    folder.mkdir()
    cv2.imwrite(str(folder / 'a.png'), make_scene(np.random.default_rng(1), 96)[0])
    for config in (RETINANET, FPN):
        proc = run_tool_here('tools/analysis/erf.py', config, '--images', folder, '--shape', '64', '64', '--out', out)
        name = config.split('/')[-1][:-3]
        assert f'{name}: ERF over 1 images at 64x64' in proc.stdout
        img = drawn(out)
        assert img.shape[:2] == (360, 320) and img.std() > 10


def test_tools_take_a_classification_config(image, tmp_path):
    """An MMPretrain classifier over this backbone: Grad-CAM of a chosen class and the feature map are drawn over
    the 64x64 centre crop the network sees (upscaled to 256 px); get_flops counts it at 224x224 by default."""
    config = tmp_path / 'classifier.py'
    config.write_text(CLASSIFIER)
    out = tmp_path / 'cam.png'
    proc = run_tool_here('tools/visualization/vis_cam.py', image, config, '--out', out, '--method', 'gradcam',
                    '--category', 'square')
    assert 'gradcam of backbone.out_norms.3, class square; 256x256 px' in proc.stdout
    assert drawn(out).shape[:2] == (256, 256)
    out = tmp_path / 'featmap.png'
    run_tool_here('tools/visualization/vis_featmap.py', image, config, '--out', out)
    assert drawn(out).shape[:2] == (256, 256)
    from mmpoolformer.analysis.macs import config_report
    rows, _, shape = config_report(str(config), None)
    assert shape == (224, 224) and {'stage 4', 'neck', 'head'} <= set(rows)
    assert rows['head'][0] == 40 * 4 + 4  # the linear classifier's parameters


# The CAFormer configs with a tiny CAFormer (SepConv stages 1-2, attention stages 3-4) and small heads.
TINY_CAFORMER = 'dict(_delete_=True, depths=[1, 1, 1, 1], embed_dims=[32, 32, 64, 64])'
CAFORMER_CONFIGS = {
    'retinanet': f"""_base_ = ['{ROOT}/configs/retinanet_caformer_s18_fpn_coco.py']
model = dict(backbone=dict(arch={TINY_CAFORMER}, init_cfg=None), neck=dict(in_channels=[32, 64, 64], out_channels=16),
             bbox_head=dict(num_classes=4, in_channels=16, feat_channels=16, stacked_convs=1))
test_dataloader = dict(dataset=dict(pipeline=[dict(type='LoadImageFromFile'),
                                              dict(type='Resize', scale=(128, 128), keep_ratio=True),
                                              dict(type='PackDetInputs', meta_keys=('img_id', 'img_path',
                                                   'ori_shape', 'img_shape', 'scale_factor'))]))
""",
    'fpn': f"""_base_ = ['{ROOT}/configs/fpn_caformer_s18_ade20k_40k.py']
model = dict(backbone=dict(arch={TINY_CAFORMER}, init_cfg=None),
             neck=dict(in_channels=[32, 32, 64, 64], out_channels=16),
             decode_head=dict(in_channels=[16, 16, 16, 16], channels=16, num_classes=5))
metainfo = dict(classes=('background', 'circle', 'square', 'triangle', 'cross'))
test_dataloader = dict(dataset=dict(metainfo=metainfo, pipeline=[
    dict(type='LoadImageFromFile'), dict(type='mmpoolformer.AlignResize', scale=(512, 128), keep_ratio=True,
                                         size_divisor=32), dict(type='PackSegInputs')]))
"""}


@pytest.mark.parametrize('task', ['retinanet', 'fpn'])
def test_vis_tools_take_the_caformer_configs(task, image, tmp_path):
    """Feature maps of every CAFormer stage and a class activation map (EigenCAM of the last output norm; Grad-CAM
    of a class through the attention stages for the segmentor) over the image as the network sees it."""
    config = tmp_path / f'caformer_{task}.py'
    config.write_text(CAFORMER_CONFIGS[task])
    rows = 3 if task == 'retinanet' else 4
    out = tmp_path / 'featmap.png'
    proc = run_tool_here('tools/visualization/vis_featmap.py', image, config, '--out', out)
    img = drawn(out)
    assert f'wrote {out} ({rows} row(s)' in proc.stdout and img.shape[1] == 256
    assert differs_from(img[:img.shape[0] // rows], image) > 5
    out = tmp_path / 'cam.png'
    method = ['--method', 'gradcam', '--category', 'square'] if task == 'fpn' else []
    proc = run_tool_here('tools/visualization/vis_cam.py', image, config, '--out', out, *method)
    expected = 'gradcam of backbone.out_norms.3, class square' if task == 'fpn' else 'eigencam of backbone.out_norms.3'
    assert expected in proc.stdout
    img = drawn(out)
    assert img.shape[1] == 256 and differs_from(img, image) > 5


def test_erf_compares_sepconv_attention_starrelu_and_the_baselines(tmp_path):
    """The mixer comparison takes SepConv and Attention with StarReLU MLPs, and whole baselines models: every field
    is a proper distribution of mass and each mixer has its own (untrained at 64 px, which mixer reaches further is
    not settled: with StarReLU, attention's field came out narrower than identity's). The baselines end in a channel
    LayerNorm: their fields spread beyond one stem patch (7x7 px) too, not into a pixel of rounding noise."""
    folder = tmp_path / 'images'
    folder.mkdir()
    cv2.imwrite(str(folder / 'a.png'), make_scene(np.random.default_rng(0), 96)[0])
    out = tmp_path / 'erf.png'
    proc = run_tool_here('tools/analysis/erf.py', 's12', '--images', folder, '--shape', '64', '64', '--mixers',
                         'SepConv', 'Attention', 'Identity', 'caformer_s18', 'randformer_s12', '--act', 'StarReLU',
                         '--out', out)
    areas = {name: [float(a) for a in re.findall(r'of the mass: ([\d.]+)% of the input', line)]
             for name, line in re.findall(r'^([\w+ ]+): (ERF over 1 images at 64x64.*)$', proc.stdout, re.M)}
    assert set(areas) == {'s12 SepConv+StarReLU', 's12 Attention+StarReLU', 's12 Identity+StarReLU',
                          'caformer_s18', 'randformer_s12'}
    for values in areas.values():
        assert 0 < values[0] <= values[1] <= values[2] <= 100
    for name in ('caformer_s18', 'randformer_s12'):
        assert areas[name][1] > 100 * 49 / 64 ** 2, areas[name]  # half the mass over more than a 7x7 patch
    mixers = [tuple(values) for name, values in areas.items() if name.startswith('s12 ')]
    assert len(set(mixers)) == 3
    assert drawn(out).shape[:2] == (360, 5 * 320)
    cases = [(['caformer_s18', '--mixers', 'SepConv'],
              "error: --mixers and --act build models of a PoolFormer arch (e.g. s12 --mixers SepConv caformer_s18); "
              "caformer_s18 has its own mixers and activation"),
             (['s12', '--mixers', 'SepConvv'],
              'error: --mixers SepConvv is neither a registered token mixer (e.g. Pooling, DepthwiseConv, SepConv, '
              'Attention, Identity) nor a baselines model (e.g. caformer_s18)'),
             (['randformer_s12', '--shape', '64', '96'],
              'error: randformer_s12: RandFormer mixes a fixed token grid; pass a square --shape divisible by 32 '
              '(e.g. --shape 224 224), not 64 96')]
    for args, message in cases:
        proc = run_tool_here('tools/analysis/erf.py', *args, '--images', folder, '--out', out, check=False)
        assert error_line(proc) == message
