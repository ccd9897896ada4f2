# IdentityFormer-S24 ImageNet-1K classifier (published: 78.2 top-1, 21.3 M params, 3.4 G MACs), the official recipe of
# scripts/identityformer/train_identityformer_s24.sh: AdamW lr 4e-3, 5 warm-up epochs, drop path 0.1 (the rest in
# _base_/metaformer_baseline_in1k.py). The official file tests directly:
#   tools/test.py configs/classification/identityformer_s24_in1k.py identityformer_s24.pth --data-root /path/to/imagenet
_base_ = ['./_base_/metaformer_baseline_in1k.py']

model = dict(
    backbone=dict(type='mmpoolformer.IdentityFormer', arch='s24', drop_path_rate=0.1),
    neck=dict(in_channels=512),
    head=dict(in_channels=512))
