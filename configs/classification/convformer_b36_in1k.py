# ConvFormer-B36 ImageNet-1K classifier (published: 84.8 top-1, 100 M params, 22.6 G MACs), the official recipe of
# scripts/convformer/train_convformer_b36.sh: AdamW lr 4e-3, 20 warm-up epochs, drop path 0.6, head dropout 0.0 (the
# rest in _base_/metaformer_baseline_in1k.py). The official file tests directly (official or timm layout):
#   tools/test.py configs/classification/convformer_b36_in1k.py convformer_b36.pth --data-root /path/to/imagenet
_base_ = ['./_base_/metaformer_baseline_mlp_head_in1k.py']

model = dict(
    backbone=dict(type='mmpoolformer.ConvFormer', arch='b36', drop_path_rate=0.6),
    neck=dict(in_channels=768),
    head=dict(in_channels=768, dropout=0.0))
