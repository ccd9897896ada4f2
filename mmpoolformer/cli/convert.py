"""Convert a PoolFormer weight file to mmpoolformer's key layout: mmpoolformer convert SRC DST

Accepts the official ImageNet files, official mmdet 2.x / mmseg 0.x backbones and trained models, timm
``poolformer_*``, Hugging Face transformers (``save_pretrained`` files, or their folder) and mmpretrain checkpoints,
and the MetaFormer baselines' files (CAFormer, ConvFormer, PoolFormerV2, IdentityFormer, RandFormer: official
``<name>.pth`` and timm's ``model.safetensors`` / ``pytorch_model.bin``), all detected from the keys. A
backbone/classifier file becomes a plain backbone state dict (the classifier is dropped); a detector/segmentor file
keeps its other parts and gets the renamed backbone under ``backbone.``. Files are read with torch's safe loader
(``--trusted`` for a trusted file that needs full unpickling). The output is written to a temporary name and renamed,
so DST is never left half-written; it opens with ``torch.load(DST, weights_only=True)``.
"""
import argparse
import os.path as osp

from ..checkpoint import convert_weights, read_weights, save_checkpoint_file, stored_arch, unwrap_state_dict
from .common import run_cli


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='input weight file (path or http(s) URL)')
    parser.add_argument('dst', help='output file')
    parser.add_argument('--prefix', help='backbone prefix in SRC (default: detected, "" or "backbone.")')
    parser.add_argument('--trusted', action='store_true', help='allow full unpickling of SRC (trusted files only)')
    args = parser.parse_args(argv)
    converted = convert_weights(unwrap_state_dict(read_weights(args.src, trusted=args.trusted), args.src),
                                prefix=args.prefix, source=args.src)
    state = converted.full_state_dict()
    meta = dict(converted_from=osp.basename(args.src), source_layout=converted.layout,
                arch=stored_arch(converted.backbone))
    save_checkpoint_file(dict(meta=meta, state_dict=state), args.dst, what='converted checkpoint')
    print(f'wrote {args.dst}: {len(converted.backbone)} backbone tensors (arch {meta["arch"]}, from the '
          f'{converted.layout} layout), {len(converted.outside)} other tensors kept, {len(converted.dropped)} '
          f'classifier tensors dropped')


if __name__ == '__main__':
    run_cli(main)
