"""The Gradio page: a model chooser, "Predict" and "Look inside" tabs, messages instead of crashes.

Every handler turns a :class:`~mmpoolformer.errors.UserError` (a bad upload, a file the page may not read, Grad-CAM
asked of a detector, ...) into the one-line message shown in the page, so the server keeps serving. Requests queue
(one runs at a time: the two CPU cores are better used by one model than shared by two); up to ``QUEUE_SIZE``
waiting requests are all answered, in turn.
"""
import html
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmpoolformer.errors import ConfigError, DataError, UserError

from .images import MAX_SIDE, MAX_UPLOAD_MB, allowed_file, read_upload
from .models import LOWEST_SCORE_THR, MixerComparison, ServedModel

TITLE = 'mmpoolformer web demo'
QUEUE_SIZE = 64  # requests waiting at once; Gradio refuses more with "queue full"
# small drawings (the demo images are 128 px) are shown enlarged, pixels kept sharp; the drawing itself is unchanged
CSS = '#drawing img { width: 100%; height: 100%; object-fit: contain; image-rendering: pixelated; }'
COLUMNS = ('class', 'score', 'box x1, y1, x2, y2 (px) / pixel share')


def message(text: str, error: bool = False) -> str:
    """Markdown for the message line under the buttons."""
    return f'**error:** {text}' if error else text


def rows_html(rows: Sequence[Tuple[str, str, str]]) -> str:
    """The found objects as an HTML table (``<table id="found-table">``, one ``<tr>`` per row, escaped text) that
    scrolls after about 20 rows."""
    head = ''.join(f'<th>{html.escape(c)}</th>' for c in COLUMNS)
    body = ''.join('<tr>' + ''.join(f'<td>{html.escape(v)}</td>' for v in row) + '</tr>' for row in rows)
    if not rows:
        body = f'<tr><td colspan="{len(COLUMNS)}">nothing found above the score threshold</td></tr>'
    return (f'<div style="max-height: 32em; overflow-y: auto"><table id="found-table"><thead><tr>{head}</tr>'
            f'</thead><tbody>{body}</tbody></table></div>')


def timings_text(timings: Dict[str, float]) -> str:
    """``'PyTorch eager: 41.2 ms; fast path (...): 20.3 ms (2.03x)'``: each path's time for this image."""
    first = next(iter(timings.values()))
    parts = [f'{name}: {ms:.1f} ms' + (f' ({first / ms:.2f}x)' if i and ms > 0 else '')
             for i, (name, ms) in enumerate(timings.items())]
    return 'time for this image, pre- and post-processing included: ' + '; '.join(parts)


class DemoServer:
    """The handlers behind the page, independent of Gradio (tested directly): the served models, the examples the
    page may read, the upload folders Gradio writes into, and the limits."""

    def __init__(self, models: List[ServedModel], left_out: Sequence[str] = (), examples: Sequence[str] = (),
                 upload_dirs: Sequence[str] = (), max_upload_mb: float = MAX_UPLOAD_MB, max_side: int = MAX_SIDE,
                 mixer_arch: str = 's12'):
        self.models = {m.name: m for m in models}
        self.left_out = list(left_out)
        self.examples = [osp.abspath(e) for e in examples]
        self.upload_dirs = list(upload_dirs)
        self.max_upload_mb, self.max_side = max_upload_mb, max_side
        self.mixers = MixerComparison(mixer_arch)

    def _model(self, name: Optional[str]) -> ServedModel:
        if name not in self.models:
            raise ConfigError(f"model '{name}' is not served here; choose one of: {', '.join(self.models)}")
        return self.models[name]

    def _image(self, path: Optional[str]) -> Tuple[np.ndarray, List[str]]:
        if not path:
            raise DataError('no image yet; upload one or pick an example')
        shown = osp.basename(path)
        real = allowed_file(path, self.examples, self.upload_dirs)
        return read_upload(real, shown, self.max_upload_mb, self.max_side)

    def predict(self, model_name: str, path: Optional[str], score_thr: float):
        """"Predict": ``(drawing or None, table HTML, timings text, message)``."""
        try:
            model = self._model(model_name)
            img, notes = self._image(path)
            result = model.predict(img, float(score_thr))
        except UserError as exc:
            return None, rows_html([]), '', message(' '.join(str(exc).split()), error=True)
        done = f'{len(result.rows)} found by {model.name} ({model.task}) on {osp.basename(path)}'
        return (result.drawing, rows_html(result.rows), timings_text(result.timings),
                message('; '.join([done] + notes + result.notes)))

    def look_inside(self, model_name: str, path: Optional[str], cam_method: str, erf_size: int):
        """"Look inside": ``(feature maps, CAM, ERF, message)``, drawings as ``(image, caption)`` or None."""
        try:
            model = self._model(model_name)
            img, notes = self._image(path)
            drawings = model.look_inside(img, cam_method, (int(erf_size), int(erf_size)))
        except UserError as exc:
            return None, None, None, message(' '.join(str(exc).split()), error=True)
        captions = [f'{key}: {caption}' for key, (_, caption) in drawings.items()]
        return (drawings['featmaps'][0], drawings['cam'][0], drawings['erf'][0],
                message('; '.join(notes + captions)))

    def compare_mixers(self, path: Optional[str], erf_size: int):
        """The token-mixer comparison: ``(drawing or None, message)``."""
        try:
            img, notes = self._image(path)
            drawing, caption = self.mixers.draw(img, (int(erf_size), int(erf_size)))
        except UserError as exc:
            return None, message(' '.join(str(exc).split()), error=True)
        return drawing, message('; '.join(notes + [caption]))


def build_page(server: DemoServer):
    """The ``gradio.Blocks`` page of ``server``."""
    import gradio as gr
    names = list(server.models)
    with gr.Blocks(title=TITLE) as page:
        gr.Markdown(f'# {TITLE}\nPoolFormer / MetaFormer models of this toolbox on one image. Uploads up to '
                    f'{server.max_upload_mb:g} MiB; images over {server.max_side} px are resized.')
        with gr.Row():
            model = gr.Dropdown(names, value=names[0], label='model', elem_id='model')
            upload = gr.File(label='image (jpg, png, bmp, ...)', type='filepath', elem_id='upload')
        gr.Markdown('\n'.join(['models served:'] + [f'- {m.describe()}' for m in server.models.values()]
                              + [f'- **left out** {line}' for line in server.left_out]), elem_id='models')
        if server.examples:
            gr.Examples([[p] for p in server.examples], inputs=[upload], label='demo validation images')
        with gr.Tab('Predict'):
            with gr.Row():
                score_thr = gr.Slider(LOWEST_SCORE_THR, 1., value=0.3, step=0.05, label='score threshold (detection)',
                                      elem_id='score-thr')
                predict_button = gr.Button('Predict', variant='primary', elem_id='predict')
            predict_message = gr.Markdown(elem_id='predict-message')
            with gr.Row():
                drawing = gr.Image(label='prediction, drawn as tools/demo.py draws it', type='numpy', height=480,
                                   elem_id='drawing')
                with gr.Column():
                    table = gr.HTML(rows_html([]), elem_id='found')
                    timings = gr.Markdown(elem_id='timings')
        with gr.Tab('Look inside'):
            with gr.Row():
                cam_method = gr.Radio(['eigencam', 'gradcam', 'gradcam++'], value='eigencam',
                                      label='class activation map', elem_id='cam-method')
                erf_size = gr.Slider(64, 512, value=224, step=32, label='ERF input size (px)', elem_id='erf-size')
                inside_button = gr.Button('Look inside', variant='primary', elem_id='look-inside')
                mixers_button = gr.Button('Compare token mixers', elem_id='compare-mixers')
            inside_message = gr.Markdown(elem_id='inside-message')
            with gr.Row():
                featmaps = gr.Image(label='feature maps per stage', elem_id='featmaps')
                cam = gr.Image(label='class activation map', elem_id='cam')
            with gr.Row():
                erf = gr.Image(label='effective receptive field of this model', elem_id='erf')
                mixers = gr.Image(label='token mixers: pooling, depthwise conv, identity, attention',
                                  elem_id='mixers')
        predict_button.click(server.predict, [model, upload, score_thr],
                             [drawing, table, timings, predict_message])
        inside_button.click(server.look_inside, [model, upload, cam_method, erf_size],
                            [featmaps, cam, erf, inside_message])
        mixers_button.click(server.compare_mixers, [upload, erf_size], [mixers, inside_message])
    return page


def serve(server: DemoServer, host: str = '127.0.0.1', port: int = 7860, share: bool = False) -> None:
    """Serve the page on ``host:port`` until interrupted (a public share link only with ``share``); requests queue
    and run one at a time."""
    page = build_page(server)
    page.queue(default_concurrency_limit=1, max_size=QUEUE_SIZE)
    page.launch(server_name=host, server_port=port, share=share, allowed_paths=server.examples,
                max_file_size=f'{int(server.max_upload_mb * 1024)}kb', show_error=False, quiet=True, css=CSS)
