"""Write the synthetic quickstart data sets deterministically: the first step of ``tools/quickstart.sh``.

python tools/make_demo_data.py --config CONFIG [--data-root DIR] [--cfg-options demo_data.num_train=...]
    writes the data set the quickstart config's ``demo_data`` dict describes, unless it is already complete
python tools/make_demo_data.py [--root data/demo] [--seed 0] [--num-train 1000] [--num-val 100] [--size 128]
    writes the detection and segmentation scenes (COCO-format instances + ADE20K-layout semantics)
"""
import argparse
import time

from mmpoolformer.cli import add_common_args, load_config, run_cli
from mmpoolformer.demo_data import DEFAULTS, ensure_demo_data, make_demo_data
from mmpoolformer.errors import ConfigError


def write_for_config(args: argparse.Namespace) -> None:
    cfg = load_config(args)
    spec = cfg.get('demo_data')
    if not spec:
        raise ConfigError(f'{args.config} has no demo_data dict; pass a config from configs/quickstart/')
    start = time.time()
    print(f"writing the demo data set to {spec['root']}" if ensure_demo_data(dict(spec)) else
          f"the demo data set in {spec['root']} is complete", flush=True)
    print(f'done in {time.time() - start:.1f} s')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config', help="a quickstart config: write the data set its demo_data dict describes")
    parser.add_argument('--root', default='data/demo')
    parser.add_argument('--seed', type=int, default=DEFAULTS['seed'])
    parser.add_argument('--num-train', type=int, default=DEFAULTS['num_train'])
    parser.add_argument('--num-val', type=int, default=DEFAULTS['num_val'])
    parser.add_argument('--size', type=int, default=DEFAULTS['size'], help='image side in pixels')
    add_common_args(parser)  # with --config: the same --data-root / --cfg-options as the training command
    args = parser.parse_args()
    if args.config:
        write_for_config(args)
        return
    start = time.time()
    make_demo_data(args.root, seed=args.seed, num_train=args.num_train, num_val=args.num_val, size=args.size)
    print(f'wrote {args.num_train} train and {args.num_val} val images to {args.root} in {time.time() - start:.1f} s')


if __name__ == '__main__':
    run_cli(main)
