"""A browser demo of the toolbox's models: python tools/web_demo.py [--model CONFIG CHECKPOINT] [--onnx FILE]

Serves a page on http://127.0.0.1:7860 (``--host``/``--port``; a public share link only with ``--share``) with the
quickstart checkpoints found under ``work_dirs/quickstart_*/`` (``--work-dirs``), every ``--model CONFIG CHECKPOINT``
(detection, instance or semantic segmentation, classification) and every ``--onnx FILE`` written by
``tools/deployment/export_onnx.py``. "Predict" draws the chosen model's prediction as ``tools/demo.py`` does, lists
what was found and times the image eager and on the fast path (``--compile``/``--bf16``/``--fp16``; without them
deploy folding and channels_last). "Look inside" draws the feature maps per stage, EigenCAM / Grad-CAM, the
effective receptive field, and the token-mixer comparison of ``tools/analysis/erf.py``. The examples are the demo
validation images (``--examples``); the page reads no other file on the server. A model that cannot be loaded is
named at start-up and left out; the page logic is :mod:`mmpoolformer_lab.web_demo`.
"""
import argparse
import os
import os.path as osp
import sys

from mmpoolformer.cli import add_fast_inference_args, fast_inference_options, run_cli
from mmpoolformer_lab.web_demo.images import MAX_SIDE, MAX_UPLOAD_MB

DEFAULT_EXAMPLES = 'data/demo/coco/val2017'
NUM_EXAMPLES = 6


def example_images(folder: str, count: int):
    """The first ``count`` images (by name) of ``folder``; none if it does not exist."""
    from mmpoolformer.analysis.erf import IMAGE_SUFFIXES
    if not osp.isdir(folder):
        return []
    names = sorted(n for n in os.listdir(folder) if n.lower().endswith(IMAGE_SUFFIXES))
    return [osp.abspath(osp.join(folder, n)) for n in names[:count]]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--model', nargs=2, action='append', default=[], metavar=('CONFIG', 'CHECKPOINT'),
                        help='a PyTorch model to serve (repeatable)')
    parser.add_argument('--onnx', action='append', default=[], metavar='FILE',
                        help='an ONNX file of tools/deployment/export_onnx.py to serve (repeatable)')
    parser.add_argument('--work-dirs', default='work_dirs', help='where to look for quickstart_*/ checkpoints')
    parser.add_argument('--no-quickstart', action='store_true', help='serve only --model and --onnx')
    parser.add_argument('--examples', default=DEFAULT_EXAMPLES, help='folder of example images')
    parser.add_argument('--num-examples', type=int, default=NUM_EXAMPLES)
    parser.add_argument('--host', default='127.0.0.1', help='address to serve on (default: this machine only)')
    parser.add_argument('--port', type=int, default=7860)
    parser.add_argument('--share', action='store_true', help='also ask Gradio for a public share link')
    parser.add_argument('--max-upload-mb', type=float, default=MAX_UPLOAD_MB, help='upload size limit (MiB)')
    parser.add_argument('--max-side', type=int, default=MAX_SIDE, help='larger images are resized to this (px)')
    parser.add_argument('--mixer-arch', default='s12', help='arch of the token-mixer comparison')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--trust-checkpoint', action='store_true')
    add_fast_inference_args(parser)
    args = parser.parse_args(argv)
    os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')  # no usage reports sent from a local demo
    from mmpoolformer.errors import ConfigError
    from mmpoolformer_lab.web_demo.app import DemoServer, serve
    from mmpoolformer_lab.web_demo.models import load_models, model_specs
    fast = fast_inference_options(args.compile, args.bf16, args.fp16, args.deploy)
    specs = model_specs(None if args.no_quickstart else args.work_dirs, args.model, args.onnx)
    if not specs:
        raise ConfigError(f'no model to serve: no quickstart checkpoint under {args.work_dirs}/quickstart_*/ and no '
                          f'--model or --onnx; run bash tools/quickstart.sh first or pass --model CONFIG CHECKPOINT')
    models, left_out = load_models(specs, args.device, args.trust_checkpoint, fast)
    for line in left_out:
        print(f'warning: left out {line}', file=sys.stderr)
    if not models:
        raise ConfigError(f'no model to serve: all {len(specs)} were left out (see the warnings above)')
    import gradio
    examples = example_images(args.examples, args.num_examples)
    server = DemoServer(models, left_out, examples, [gradio.utils.get_upload_folder()], args.max_upload_mb,
                        args.max_side, args.mixer_arch)
    for model in models:
        print(f'serving {model.describe()}')
    print(f'web demo on http://{args.host}:{args.port} ({len(models)} model(s), {len(examples)} example(s))',
          flush=True)
    serve(server, args.host, args.port, args.share)


if __name__ == '__main__':
    run_cli(main)
