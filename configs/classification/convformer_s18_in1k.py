# ConvFormer-S18 ImageNet-1K classifier (published: 83.0 top-1, 27 M params, 3.9 G MACs), the official recipe of
# scripts/convformer/train_convformer_s18.sh: AdamW lr 4e-3, 20 warm-up epochs, drop path 0.2, head dropout 0.0 (the
# rest in _base_/metaformer_baseline_in1k.py). The official file tests directly (official or timm layout):
#   tools/test.py configs/classification/convformer_s18_in1k.py convformer_s18.pth --data-root /path/to/imagenet
_base_ = ['./_base_/metaformer_baseline_mlp_head_in1k.py']

model = dict(
    backbone=dict(type='mmpoolformer.ConvFormer', arch='s18', drop_path_rate=0.2),
    neck=dict(in_channels=512),
    head=dict(in_channels=512, dropout=0.0))
