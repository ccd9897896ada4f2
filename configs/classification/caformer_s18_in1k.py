# CAFormer-S18 ImageNet-1K classifier (published: 83.6 top-1, 26 M params, 4.1 G MACs), the official recipe of
# scripts/caformer/train_caformer_s18.sh: LAMB lr 8e-3, 20 warm-up epochs, drop path 0.15, head dropout 0.0 (the rest
# in _base_/metaformer_baseline_in1k.py). The official file tests directly (official or timm layout):
#   tools/test.py configs/classification/caformer_s18_in1k.py caformer_s18.pth --data-root /path/to/imagenet
_base_ = ['./_base_/metaformer_baseline_lamb_in1k.py']

model = dict(
    backbone=dict(type='mmpoolformer.CAFormer', arch='s18', drop_path_rate=0.15),
    neck=dict(in_channels=512),
    head=dict(in_channels=512, dropout=0.0))
