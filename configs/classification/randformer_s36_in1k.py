# RandFormer-S36 ImageNet-1K classifier (published: 79.5 top-1, 30.8 + 0.7 M params, 5.2 G MACs), the official recipe
# of scripts/randformer/train_randformer_s36.sh: AdamW lr 4e-3, 5 warm-up epochs, drop path 0.2 (the rest in
# _base_/metaformer_baseline_in1k.py). The official file tests directly:
#   tools/test.py configs/classification/randformer_s36_in1k.py randformer_s36.pth --data-root /path/to/imagenet
_base_ = ['./_base_/metaformer_baseline_in1k.py']

# The frozen random mixing matrices hold for 224 px only (14x14 and 7x7 tokens at stages 3 and 4).

model = dict(
    backbone=dict(type='mmpoolformer.RandFormer', arch='s36', drop_path_rate=0.2),
    neck=dict(in_channels=512),
    head=dict(in_channels=512))
