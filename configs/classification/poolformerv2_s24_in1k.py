# PoolFormerV2-S24 ImageNet-1K classifier (published: 80.7 top-1, 21.3 M params, 3.4 G MACs), the official recipe of
# scripts/poolformerv2/train_poolformerv2_s24.sh: AdamW lr 4e-3, 5 warm-up epochs, drop path 0.1 (the rest in
# _base_/metaformer_baseline_in1k.py). The official file tests directly:
#   tools/test.py configs/classification/poolformerv2_s24_in1k.py poolformerv2_s24.pth --data-root /path/to/imagenet
_base_ = ['./_base_/metaformer_baseline_in1k.py']

model = dict(
    backbone=dict(type='mmpoolformer.PoolFormerV2', arch='s24', drop_path_rate=0.1),
    neck=dict(in_channels=512),
    head=dict(in_channels=512))
