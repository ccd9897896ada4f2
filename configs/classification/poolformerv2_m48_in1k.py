# PoolFormerV2-M48 ImageNet-1K classifier (published: 82.6 top-1, 73.3 M params, 11.5 G MACs), the official recipe of
# scripts/poolformerv2/train_poolformerv2_m48.sh: AdamW lr 4e-3, 5 warm-up epochs, drop path 0.4 (the rest in
# _base_/metaformer_baseline_in1k.py). The official file tests directly:
#   tools/test.py configs/classification/poolformerv2_m48_in1k.py poolformerv2_m48.pth --data-root /path/to/imagenet
_base_ = ['./_base_/metaformer_baseline_in1k.py']

model = dict(
    backbone=dict(type='mmpoolformer.PoolFormerV2', arch='m48', drop_path_rate=0.4),
    neck=dict(in_channels=768),
    head=dict(in_channels=768))
