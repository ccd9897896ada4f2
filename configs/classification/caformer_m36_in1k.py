# CAFormer-M36 ImageNet-1K classifier (published: 85.2 top-1, 56 M params, 13.2 G MACs), the official recipe of
# scripts/caformer/train_caformer_m36.sh: LAMB lr 8e-3, 20 warm-up epochs, drop path 0.4, head dropout 0.4 (the rest
# in _base_/metaformer_baseline_in1k.py). The official file tests directly (official or timm layout):
#   tools/test.py configs/classification/caformer_m36_in1k.py caformer_m36.pth --data-root /path/to/imagenet
_base_ = ['./_base_/metaformer_baseline_lamb_in1k.py']

model = dict(
    backbone=dict(type='mmpoolformer.CAFormer', arch='m36', drop_path_rate=0.4),
    neck=dict(in_channels=576),
    head=dict(in_channels=576, dropout=0.4))
