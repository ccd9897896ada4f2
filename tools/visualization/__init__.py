"""Shared by the visualization tools: their common arguments and the image-through-the-model step."""
import argparse


def image_model_parser(doc: str) -> argparse.ArgumentParser:
    """A parser with ``IMAGE CONFIG [CHECKPOINT] --out FILE [--trust-checkpoint]``; the tool adds its own options."""
    parser = argparse.ArgumentParser(description=doc.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('image')
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?', help='weights (default: the model\'s own initialisation)')
    parser.add_argument('--out', required=True, help='output image file (png, jpg)')
    parser.add_argument('--trust-checkpoint', action='store_true')
    return parser


def image_through_model(args: argparse.Namespace):
    """``(model, cfg, inputs, data_sample, network_view)`` for ``args.image`` through ``args.config``'s test pipeline
    (see :func:`mmpoolformer.apis.prepare_inputs`); bad paths end in one line."""
    from mmpoolformer.apis import init_model, prepare_inputs, read_image
    img = read_image(args.image)
    model, cfg = init_model(args.config, args.checkpoint, trust=args.trust_checkpoint, fast={})
    inputs, sample, network_view = prepare_inputs(model.data_preprocessor, cfg, img)
    return model, cfg, inputs, sample, network_view
