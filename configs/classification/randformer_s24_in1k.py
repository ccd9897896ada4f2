# RandFormer-S24 ImageNet-1K classifier (published: 78.2 top-1, 21.3 + 0.5 M params, 3.5 G MACs), the official recipe
# of scripts/randformer/train_randformer_s24.sh: AdamW lr 4e-3, 5 warm-up epochs, drop path 0.1 (the rest in
# _base_/metaformer_baseline_in1k.py). The official file tests directly:
#   tools/test.py configs/classification/randformer_s24_in1k.py randformer_s24.pth --data-root /path/to/imagenet
_base_ = ['./_base_/metaformer_baseline_in1k.py']

# The frozen random mixing matrices hold for 224 px only (14x14 and 7x7 tokens at stages 3 and 4).

model = dict(
    backbone=dict(type='mmpoolformer.RandFormer', arch='s24', drop_path_rate=0.1),
    neck=dict(in_channels=512),
    head=dict(in_channels=512))
