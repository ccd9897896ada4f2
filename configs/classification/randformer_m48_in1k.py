# RandFormer-M48 ImageNet-1K classifier (published: 81.4 top-1, 73.3 + 0.9 M params, 11.9 G MACs), the official recipe
# of scripts/randformer/train_randformer_m48.sh: AdamW lr 4e-3, 5 warm-up epochs, drop path 0.3 (the rest in
# _base_/metaformer_baseline_in1k.py). The official file tests directly:
#   tools/test.py configs/classification/randformer_m48_in1k.py randformer_m48.pth --data-root /path/to/imagenet
_base_ = ['./_base_/metaformer_baseline_in1k.py']

# The frozen random mixing matrices hold for 224 px only (14x14 and 7x7 tokens at stages 3 and 4).

model = dict(
    backbone=dict(type='mmpoolformer.RandFormer', arch='m48', drop_path_rate=0.3),
    neck=dict(in_channels=768),
    head=dict(in_channels=768))
