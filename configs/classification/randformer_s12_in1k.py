# RandFormer-S12 ImageNet-1K classifier (published: 76.6 top-1, 11.9 + 0.2 M params, 1.9 G MACs), the official recipe
# of scripts/randformer/train_randformer_s12.sh: AdamW lr 4e-3, 5 warm-up epochs, drop path 0.1 (the rest in
# _base_/metaformer_baseline_in1k.py). The official file tests directly:
#   tools/test.py configs/classification/randformer_s12_in1k.py randformer_s12.pth --data-root /path/to/imagenet
_base_ = ['./_base_/metaformer_baseline_in1k.py']

# The frozen random mixing matrices hold for 224 px only (14x14 and 7x7 tokens at stages 3 and 4).

model = dict(
    backbone=dict(type='mmpoolformer.RandFormer', arch='s12', drop_path_rate=0.1),
    neck=dict(in_channels=512),
    head=dict(in_channels=512))
