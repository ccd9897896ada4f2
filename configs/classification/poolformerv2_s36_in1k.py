# PoolFormerV2-S36 ImageNet-1K classifier (published: 81.6 top-1, 30.8 M params, 5.0 G MACs), the official recipe of
# scripts/poolformerv2/train_poolformerv2_s36.sh: AdamW lr 4e-3, 5 warm-up epochs, drop path 0.2 (the rest in
# _base_/metaformer_baseline_in1k.py). The official file tests directly:
#   tools/test.py configs/classification/poolformerv2_s36_in1k.py poolformerv2_s36.pth --data-root /path/to/imagenet
_base_ = ['./_base_/metaformer_baseline_in1k.py']

model = dict(
    backbone=dict(type='mmpoolformer.PoolFormerV2', arch='s36', drop_path_rate=0.2),
    neck=dict(in_channels=512),
    head=dict(in_channels=512))
