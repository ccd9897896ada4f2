"""Write the deploy (folded) form of a trained model: python tools/reparameterize_model.py CONFIG CKPT OUT

The MetaFormer backbone folds its per-channel affine terms into neighbouring layers (``switch_to_deploy``: norm2's
affine into ``mlp.fc1``, ``layer_scale2`` into ``mlp.fc2``, norm1's weight times ``layer_scale1`` into one scale),
which removes element-wise passes at inference and leaves the outputs unchanged (to float rounding). Test the
written file with the config's backbone in deploy form::

    python tools/test.py CONFIG OUT --cfg-options model.backbone.deploy=True
"""
import argparse
import os.path as osp

from mmpoolformer.cli import run_cli
from mmpoolformer.errors import ConfigError


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='config the checkpoint was trained with')
    parser.add_argument('checkpoint', help='checkpoint of that config')
    parser.add_argument('out', help='file to write (a state dict with meta, loadable with weights_only=True)')
    parser.add_argument('--trust-checkpoint', action='store_true')
    args = parser.parse_args()
    from mmpoolformer.apis import init_model
    from mmpoolformer.checkpoint import save_checkpoint_file
    model, cfg = init_model(args.config, args.checkpoint, trust=args.trust_checkpoint, fast={})
    backbone = getattr(model, 'backbone', None)
    if not hasattr(backbone, 'switch_to_deploy'):
        raise ConfigError(f'{args.config}: the backbone ({type(backbone).__name__}) has no deploy form; only '
                          f'mmpoolformer.MetaFormer / PoolFormer backbones fold')
    if backbone.deploy:
        raise ConfigError(f'{args.config} already builds the backbone in deploy form; pass the config of the '
                          f'unfolded model')
    unfolded = backbone.switch_to_deploy()
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    meta = dict(deploy=True, config=osp.basename(args.config), source=osp.basename(args.checkpoint))
    if getattr(model, 'dataset_meta', None):
        meta['dataset_meta'] = dict(model.dataset_meta)
    save_checkpoint_file(dict(meta=meta, state_dict=state), args.out, what='deploy checkpoint')
    print(f'wrote {args.out}: {len(state)} tensors, backbone folded'
          + (f' ({len(unfolded)} terms left unfolded, e.g. {unfolded[0]})' if unfolded else ' completely'))
    print(f'test it with: python tools/test.py {args.config} {args.out} --cfg-options model.backbone.deploy=True')


if __name__ == '__main__':
    run_cli(main)
