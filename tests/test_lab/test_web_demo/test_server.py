"""The web demo's server-side functions (mmpoolformer_lab/web_demo) on tiny random models: the same predictions as
tools/demo.py and tools/test.py --out, the same drawings as the analysis tools, one-line messages for bad inputs,
models left out at start-up, and the page reading no file but uploads and examples."""
import os
import sys

import mmcv
import numpy as np
import pytest

from mmpoolformer_lab.web_demo.app import DemoServer
from mmpoolformer_lab.web_demo.models import ModelSpec, ServedModel, load_models, model_specs, quickstart_specs
from tests.helpers import load_tool, run_tool
from tests.test_lab.test_web_demo.common import demo_rows, make_data, tiny_model_files, write_image


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    """Demo data, an upload folder, and tiny random RetinaNet, Semantic FPN and classifier files."""
    root = tmp_path_factory.mktemp('web_demo')
    data = make_data(root / 'data')
    models = {kind: tiny_model_files(root, data, kind) for kind in ('retinanet', 'fpn', 'cls')}
    uploads = root / 'uploads'
    uploads.mkdir()
    return dict(root=root, data=data, models=models, uploads=uploads,
                image=os.path.join(data, 'coco', 'val2017', 'val_00001.jpg'))


@pytest.fixture(scope='module')
def served(files):
    """The three tiny models loaded as the page loads them."""
    specs = [ModelSpec(kind, *files['models'][kind]) for kind in ('retinanet', 'fpn', 'cls')]
    models, left_out = load_models(specs)
    assert left_out == []
    return {m.name: m for m in models}


@pytest.fixture
def server(files, served):
    return DemoServer(list(served.values()), examples=[files['image']], upload_dirs=[str(files['uploads'])])


def run_demo_in_process(monkeypatch, capsys, argv):
    demo = load_tool('tools/demo.py')
    monkeypatch.setattr(sys, 'argv', ['demo.py', *map(str, argv)])
    demo.main()
    return capsys.readouterr().out


@pytest.mark.parametrize('kind', ['retinanet', 'cls'])
def test_predict_equals_tools_demo(kind, files, served, monkeypatch, capsys, tmp_path):
    """The rows and the drawing of "Predict" are those of tools/demo.py on the same image and checkpoint."""
    config, checkpoint = files['models'][kind]
    out = tmp_path / 'demo.png'
    stdout = run_demo_in_process(monkeypatch, capsys, [files['image'], config, checkpoint, '--out', out,
                                                       '--score-thr', 0.3])
    result = served[kind].predict(mmcv.imread(files['image']), 0.3)
    assert result.rows == demo_rows(stdout)
    assert len(result.rows) >= (5 if kind == 'retinanet' else 4)  # a detector finding nothing would prove nothing
    np.testing.assert_array_equal(result.drawing, mmcv.bgr2rgb(mmcv.imread(str(out))))
    assert set(result.timings) == {'PyTorch eager', 'fast path (deploy folding, channels_last)'}
    assert all(ms > 0 for ms in result.timings.values())


def test_label_map_equals_tools_test_out(files, served, tmp_path):
    """Semantic segmentation: the page's label map is the one tools/test.py --out writes for the same image, and
    its rows are the classes' pixel shares of that map."""
    config, checkpoint = files['models']['fpn']
    out = tmp_path / 'maps'
    run_tool('tools/test.py', config, checkpoint, '--out', out, '--work-dir', tmp_path / 'work')
    image = os.path.join(files['data'], 'ade', 'images', 'validation', 'val_00002.jpg')
    result = served['fpn'].predict(mmcv.imread(image), 0.3)
    labels = result.sample.pred_sem_seg.data[0].numpy()
    written = mmcv.imread(str(out / 'val_00002.png'), flag='unchanged')
    np.testing.assert_array_equal(labels + 1, written)  # the config has reduce_zero_label: the file holds 1..N
    classes = served['fpn'].dataset_meta['classes']
    counts = {classes[c]: int((labels == c).sum()) for c in np.unique(labels)}
    assert [row[0] for row in result.rows] == sorted(counts, key=lambda c: -counts[c])
    assert [row[2] for row in result.rows] == [f'{100 * counts[c] / labels.size:.2f}% of the pixels'
                                               for c in sorted(counts, key=lambda c: -counts[c])]


def upload(files, name: str, content: bytes) -> str:
    path = files['uploads'] / name
    path.write_bytes(content)
    return str(path)


def truncated_jpeg(files, share: float) -> str:
    """A JPEG cut to ``share`` of its bytes."""
    path = write_image(files['uploads'] / 'whole.jpg', (200, 300))
    data = open(path, 'rb').read()
    return upload(files, 'cut.jpg', data[:int(len(data) * share)])


@pytest.mark.parametrize('case,expected', [
    ('text', '**error:** image notes.txt is not a readable image; pass an image file (jpg, png, bmp, ...)'),
    ('empty', '**error:** image empty.png is empty (0 bytes); pass an image file (jpg, png, bmp, ...)'),
    ('truncated', '**error:** image cut.jpg is truncated (image file is truncated'),
    ('none', '**error:** no image yet; upload one or pick an example'),
    ('server file', '**error:** tiny_retinanet.pth is neither an upload nor a listed example; the page reads no '
                    'other file on the server, upload the image instead'),
    ('link out', '**error:** link.jpg is neither an upload nor a listed example; the page reads no other file on '
                 'the server, upload the image instead'),
    ('dot dot', '**error:** tiny_retinanet.py is neither an upload nor a listed example; the page reads no other '
                'file on the server, upload the image instead'),
])
def test_bad_input_is_a_message_and_the_server_keeps_serving(case, expected, files, server):
    config, checkpoint = files['models']['retinanet']
    if case == 'text':
        path = upload(files, 'notes.txt', b'not an image\n')
    elif case == 'empty':
        path = upload(files, 'empty.png', b'')
    elif case == 'truncated':
        path = truncated_jpeg(files, 0.5)
    elif case == 'none':
        path = None
    elif case == 'server file':
        path = checkpoint
    elif case == 'link out':
        path = str(files['uploads'] / 'link.jpg')
        if not os.path.islink(path):
            os.symlink(checkpoint, path)
    else:
        path = os.path.join(str(files['uploads']), '..', os.path.basename(config))
    drawing, table, timings, text = server.predict('retinanet', path, 0.3)
    assert drawing is None and timings == '' and 'nothing found' in table
    assert text.startswith(expected), text
    assert '\n' not in text
    if 'truncated' in expected:
        assert text.endswith('); upload the complete file')
    drawing, _, timings, text = server.predict('retinanet', files['image'], 0.3)  # an example: still served
    assert drawing is not None and timings.startswith('time for this image'), text


def test_a_large_photo_is_resized_not_refused(files, server):
    path = write_image(files['uploads'] / 'photo.jpg', (4000, 6000))
    drawing, table, timings, text = server.predict('retinanet', path, 0.3)
    assert drawing.shape == (1365, 2048, 3)
    assert 'photo.jpg is 6000x4000 px: resized to 2048x1365 px (long side 2048 px) before the model' in text


def test_uploads_over_the_size_limit_are_refused(files, served):
    small = DemoServer(list(served.values()), upload_dirs=[str(files['uploads'])], max_upload_mb=0.01)
    path = write_image(files['uploads'] / 'noise.png', (200, 200))
    mmcv.imwrite(np.random.default_rng(0).integers(0, 256, (200, 200, 3)).astype(np.uint8), path)
    text = small.predict('retinanet', path, 0.3)[3]
    assert text == ('**error:** image noise.png is 0.1 MiB, over the 0.01 MiB upload limit; upload a smaller file')


def test_unknown_model_name(server, files):
    text = server.predict('nope', files['image'], 0.3)[3]
    assert text == "**error:** model 'nope' is not served here; choose one of: retinanet, fpn, cls"


def test_a_checkpoint_that_does_not_fit_is_left_out_and_named(files):
    config, _ = files['models']['retinanet']
    _, other = files['models']['fpn']
    specs = [ModelSpec('wrong', config, other), ModelSpec('missing', config, str(files['root'] / 'no.pth')),
             ModelSpec('good', *files['models']['retinanet'])]
    models, left_out = load_models(specs)
    assert [m.name for m in models] == ['good']
    assert len(left_out) == 2
    assert left_out[0].startswith('wrong: ') and other in left_out[0] and '\n' not in left_out[0]
    assert left_out[1].startswith('missing: ') and 'no.pth' in left_out[1]


def test_quickstart_checkpoints_are_found_in_work_dirs(tmp_path, files):
    config, checkpoint = files['models']['retinanet']
    run = tmp_path / 'work_dirs' / 'quickstart_retinanet'
    run.mkdir(parents=True)
    (run / 'tiny_retinanet.py').write_text(open(config).read())
    (run / 'epoch_1.pth').write_bytes(open(checkpoint, 'rb').read())
    (run / 'last_checkpoint').write_text('/elsewhere/work_dirs/quickstart_retinanet/epoch_1.pth')
    (tmp_path / 'work_dirs' / 'quickstart_fpn').mkdir()  # no checkpoint yet: not offered
    specs = quickstart_specs(str(tmp_path / 'work_dirs'))
    assert [(s.name, s.config, s.checkpoint) for s in specs] == [
        ('quickstart_retinanet (epoch_1.pth)', str(run / 'tiny_retinanet.py'), str(run / 'epoch_1.pth'))]
    more = model_specs(str(tmp_path / 'work_dirs'), [(config, checkpoint), (config, checkpoint)], ['m.onnx'])
    assert [s.name for s in more] == ['quickstart_retinanet (epoch_1.pth)', 'tiny_retinanet (tiny_retinanet.pth)',
                                      'tiny_retinanet (tiny_retinanet.pth) #2', 'm.onnx (ONNX Runtime)']
    assert ServedModel(specs[0]).predict(mmcv.imread(files['image']), 0.3).rows


def test_look_inside_draws_what_the_tools_draw(files, served, server, tmp_path):
    """Feature maps and EigenCAM are the drawings of tools/visualization/vis_featmap.py and vis_cam.py; the ERF
    areas are those tools/analysis/erf.py prints for the same image; Grad-CAM of a detector is a message."""
    erf_tool = load_tool('tools/analysis/erf.py')
    vis_cam = load_tool('tools/visualization/vis_cam.py')
    vis_featmap = load_tool('tools/visualization/vis_featmap.py')
    config, checkpoint = files['models']['retinanet']
    featmaps, cam, erf, text = server.look_inside('retinanet', files['image'], 'eigencam', 64)
    vis_featmap.main([files['image'], config, checkpoint, '--out', str(tmp_path / 'f.png')])
    vis_cam.main([files['image'], config, checkpoint, '--out', str(tmp_path / 'c.png')])
    np.testing.assert_array_equal(featmaps, mmcv.bgr2rgb(mmcv.imread(str(tmp_path / 'f.png'))))
    np.testing.assert_array_equal(cam, mmcv.bgr2rgb(mmcv.imread(str(tmp_path / 'c.png'))))
    one = tmp_path / 'one'
    one.mkdir()
    os.symlink(files['image'], one / 'a.jpg')
    from mmpoolformer.analysis.erf import area_text, load_images, mass_areas, preprocessor_norm
    from mmpoolformer.analysis.erf import erf as erf_of
    model = served['retinanet'].model
    field = erf_of(model.backbone, load_images(str(one), 1, (64, 64), preprocessor_norm(model.data_preprocessor)))
    assert f'share of the input area holding 20/50/90 % of the mass: {area_text(mass_areas(field))}' in text
    assert erf.ndim == 3 and erf.shape[2] == 3
    assert 'cam: eigencam of backbone.out_norms.3' in text
    erf_tool.main([config, checkpoint, '--images', str(one), '--shape', '64', '64', '--out', str(tmp_path / 'e.png')])
    assert os.path.getsize(tmp_path / 'e.png') > 0
    text = server.look_inside('retinanet', files['image'], 'gradcam', 64)[3]
    assert text == ('**error:** --method gradcam needs one class score per image; for a detector use --method '
                    'eigencam')
    featmaps, cam, erf, text = server.look_inside('fpn', files['image'], 'gradcam', 64)
    assert cam is not None and 'cam: gradcam of backbone.out_norms.3, class ' in text


def test_token_mixer_comparison(files, server):
    drawing, text = server.compare_mixers(files['image'], 64)
    assert drawing is not None, text
    for mixer in ('Pooling', 'DepthwiseConv', 'Identity', 'Attention'):
        assert f' {mixer}: 20%: ' in text


def test_an_onnx_export_is_served(files, served, tmp_path):
    """--onnx FILE: the exported tiny RetinaNet finds what its PyTorch model finds (ONNX Runtime time shown);
    "Look inside" says it needs a PyTorch model; a backbone-only export is left out by name."""
    from mmpoolformer.deployment import export_onnx
    torch_model = served['retinanet']
    export_onnx(torch_model.model, torch_model.cfg, str(tmp_path / 'det.onnx'), shape=(96, 96))  # the quickstart's size
    export_onnx(torch_model.model, torch_model.cfg, str(tmp_path / 'backbone.onnx'), shape=(128, 128),
                backbone_only=True)
    models, left_out = load_models(model_specs(None, onnx=[str(tmp_path / 'det.onnx'),
                                                           str(tmp_path / 'backbone.onnx')]))
    assert left_out == [f'backbone.onnx (ONNX Runtime): {tmp_path / "backbone.onnx"} is a backbone-only export '
                        f'(features, no predictions); export the whole detector or segmentor without --backbone-only']
    img = mmcv.imread(files['image'])
    got, expected = models[0].predict(img, 0.3), torch_model.predict(img, 0.3)
    assert list(got.timings) == ['ONNX Runtime'] and got.drawing.shape == expected.drawing.shape
    assert len(got.rows) == len(expected.rows) >= 5
    assert sorted(r[0] for r in got.rows) == sorted(r[0] for r in expected.rows)
    server = DemoServer(models, examples=[files['image']])
    assert server.look_inside(models[0].name, files['image'], 'eigencam', 64)[3] == (
        '**error:** det.onnx (ONNX Runtime) runs in ONNX Runtime, which exposes no layers; choose a PyTorch model '
        '(--model CONFIG CHECKPOINT or a quickstart checkpoint) to look inside')


def test_quickstart_web_serves_existing_checkpoints_without_training(tmp_path, files):
    """bash tools/quickstart.sh web: with a quickstart checkpoint in the work dirs it goes straight to
    tools/web_demo.py (here --help, which ends it) and trains nothing."""
    import subprocess

    from tests.helpers import ROOT
    config, checkpoint = files['models']['retinanet']
    run = tmp_path / 'quickstart_retinanet'
    run.mkdir()
    (run / 'tiny_retinanet.py').write_text(open(config).read())
    (run / 'epoch_1.pth').write_bytes(open(checkpoint, 'rb').read())
    (run / 'last_checkpoint').write_text(str(run / 'epoch_1.pth'))
    proc = subprocess.run(['bash', 'tools/quickstart.sh', 'web', '--help'], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, QUICKSTART_WORK_DIRS=str(tmp_path)))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith('usage: web_demo.py') and 'running the retinanet quickstart' not in proc.stdout
