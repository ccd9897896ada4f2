# CAFormer-B36 ImageNet-1K classifier (published: 85.5 top-1, 99 M params, 23.2 G MACs), the official recipe of
# scripts/caformer/train_caformer_b36.sh: LAMB lr 8e-3, 20 warm-up epochs, drop path 0.6, head dropout 0.5 (the rest
# in _base_/metaformer_baseline_in1k.py). The official file tests directly (official or timm layout):
#   tools/test.py configs/classification/caformer_b36_in1k.py caformer_b36.pth --data-root /path/to/imagenet
_base_ = ['./_base_/metaformer_baseline_lamb_in1k.py']

model = dict(
    backbone=dict(type='mmpoolformer.CAFormer', arch='b36', drop_path_rate=0.6),
    neck=dict(in_channels=768),
    head=dict(in_channels=768, dropout=0.5))
