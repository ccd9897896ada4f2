"""Prepare a trained checkpoint for release, in OpenMMLab's convention: python tools/publish_model.py IN OUT

Keeps the weights and the metadata (``meta``: epoch, iteration, ``dataset_meta`` with the class names, the config
text), drops the optimizer, schedulers, message hub and random-generator states, and writes ``OUT`` with the first
8 hex digits of its SHA-256 added to the name (``retinanet_demo.pth`` -> ``retinanet_demo-1a2b3c4d.pth``), as
MMDetection's ``tools/model_converters/publish_model.py`` does. The file opens with
``torch.load(FILE, weights_only=True)``, so ``init_detector``, ``MMSegInferencer`` and every other OpenMMLab loader
read it without any extra argument. It is written completely or not at all.
"""
import argparse
import os
import os.path as osp

from mmpoolformer.checkpoint import load_checkpoint_file, save_checkpoint_file
from mmpoolformer.checkpoint.reading import sha256_of
from mmpoolformer.cli import run_cli
from mmpoolformer.errors import CheckpointError

KEPT = ('state_dict', 'meta')


def published_name(out: str, digest: str) -> str:
    """``out`` with ``-`` and the first 8 hex digits of ``digest`` before its extension (``.pth`` if it has none)."""
    stem, ext = osp.splitext(out)
    return f'{stem}-{digest[:8]}{ext or ".pth"}'


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('checkpoint', help='training checkpoint (e.g. work_dirs/NAME/epoch_12.pth)')
    parser.add_argument('out', help='output file name; the hash prefix is added before its extension')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='allow full unpickling of a checkpoint not written by this toolbox (trusted files only)')
    args = parser.parse_args()
    checkpoint = load_checkpoint_file(args.checkpoint, trust=args.trust_checkpoint)
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get('state_dict', checkpoint), dict):
        raise CheckpointError(f'checkpoint {args.checkpoint} holds no state dict; pass a training checkpoint')
    published = {key: checkpoint[key] for key in KEPT if key in checkpoint} if 'state_dict' in checkpoint \
        else dict(state_dict=checkpoint)
    staged = args.out + '.unhashed'  # a complete file whose hash names the final one
    save_checkpoint_file(published, staged, what='published checkpoint')
    final = published_name(args.out, sha256_of(staged))
    os.replace(staged, final)
    dropped = sorted(set(checkpoint) - set(KEPT)) if 'state_dict' in checkpoint else []
    print(f'wrote {final}: {len(published["state_dict"])} tensors and meta'
          + (f'; dropped {", ".join(dropped)}' if dropped else ''))


if __name__ == '__main__':
    run_cli(main)
