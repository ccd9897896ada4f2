"""Write the synthetic quickstart data sets (COCO-format instances + ADE20K-layout semantics) deterministically.

python tools/make_demo_data.py [--root data/demo] [--seed 0] [--num-train 1000] [--num-val 100] [--size 128]
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a clone without installing

from mmpoolformer.demo_data import DEFAULTS, make_demo_data  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--root', default='data/demo')
    parser.add_argument('--seed', type=int, default=DEFAULTS['seed'])
    parser.add_argument('--num-train', type=int, default=DEFAULTS['num_train'])
    parser.add_argument('--num-val', type=int, default=DEFAULTS['num_val'])
    parser.add_argument('--size', type=int, default=DEFAULTS['size'], help='image side in pixels')
    args = parser.parse_args()
    start = time.time()
    make_demo_data(args.root, seed=args.seed, num_train=args.num_train, num_val=args.num_val, size=args.size)
    print(f'wrote {args.num_train} train and {args.num_val} val images to {args.root} in {time.time() - start:.1f} s')


if __name__ == '__main__':
    main()
