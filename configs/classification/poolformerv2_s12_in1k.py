# PoolFormerV2-S12 ImageNet-1K classifier (published: 78.0 top-1, 11.9 M params, 1.8 G MACs), the official recipe of
# scripts/poolformerv2/train_poolformerv2_s12.sh: AdamW lr 4e-3, 5 warm-up epochs, drop path 0.1 (the rest in
# _base_/metaformer_baseline_in1k.py). The official file tests directly:
#   tools/test.py configs/classification/poolformerv2_s12_in1k.py poolformerv2_s12.pth --data-root /path/to/imagenet
_base_ = ['./_base_/metaformer_baseline_in1k.py']

model = dict(
    backbone=dict(type='mmpoolformer.PoolFormerV2', arch='s12', drop_path_rate=0.1),
    neck=dict(in_channels=512),
    head=dict(in_channels=512))
