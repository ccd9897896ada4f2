# CAFormer-S36 ImageNet-1K classifier (published: 84.5 top-1, 39 M params, 8.0 G MACs), the official recipe of
# scripts/caformer/train_caformer_s36.sh: LAMB lr 8e-3, 20 warm-up epochs, drop path 0.3, head dropout 0.4 (the rest
# in _base_/metaformer_baseline_in1k.py). The official file tests directly (official or timm layout):
#   tools/test.py configs/classification/caformer_s36_in1k.py caformer_s36.pth --data-root /path/to/imagenet
_base_ = ['./_base_/metaformer_baseline_lamb_in1k.py']

model = dict(
    backbone=dict(type='mmpoolformer.CAFormer', arch='s36', drop_path_rate=0.3),
    neck=dict(in_channels=512),
    head=dict(in_channels=512, dropout=0.4))
