# ConvFormer-M36 ImageNet-1K classifier (published: 84.5 top-1, 57 M params, 12.8 G MACs), the official recipe of
# scripts/convformer/train_convformer_m36.sh: AdamW lr 4e-3, 20 warm-up epochs, drop path 0.4, head dropout 0.0 (the
# rest in _base_/metaformer_baseline_in1k.py). The official file tests directly (official or timm layout):
#   tools/test.py configs/classification/convformer_m36_in1k.py convformer_m36.pth --data-root /path/to/imagenet
_base_ = ['./_base_/metaformer_baseline_mlp_head_in1k.py']

model = dict(
    backbone=dict(type='mmpoolformer.ConvFormer', arch='m36', drop_path_rate=0.4),
    neck=dict(in_channels=576),
    head=dict(in_channels=576, dropout=0.0))
