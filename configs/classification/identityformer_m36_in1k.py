# IdentityFormer-M36 ImageNet-1K classifier (published: 80.0 top-1, 56.1 M params, 8.8 G MACs), the official recipe of
# scripts/identityformer/train_identityformer_m36.sh: AdamW lr 4e-3, 5 warm-up epochs, drop path 0.3 (the rest in
# _base_/metaformer_baseline_in1k.py). The official file tests directly:
#   tools/test.py configs/classification/identityformer_m36_in1k.py identityformer_m36.pth --data-root /path/to/imagenet
_base_ = ['./_base_/metaformer_baseline_in1k.py']

model = dict(
    backbone=dict(type='mmpoolformer.IdentityFormer', arch='m36', drop_path_rate=0.3),
    neck=dict(in_channels=768),
    head=dict(in_channels=768))
