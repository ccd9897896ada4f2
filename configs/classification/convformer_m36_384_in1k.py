# ConvFormer-M36 at 384 px (published: 85.6 top-1, 37.7 G MACs): the official fine-tuning of
# scripts/convformer/finetune_convformer_m36_384.sh from the 224 px classifier: AdamW lr 5e-5, drop path 0.8, head
# dropout 0.5 (the rest in _base_/metaformer_baseline_384.py). Tests the official convformer_m36_384.pth (and
# _384_in21ft1k.pth).
_base_ = ['./_base_/metaformer_baseline_384.py']

model = dict(
    backbone=dict(type='mmpoolformer.ConvFormer', arch='m36', drop_path_rate=0.8),
    neck=dict(in_channels=576),
    head=dict(in_channels=576, dropout=0.5))
optim_wrapper = dict(optimizer=dict(lr=5e-5))
load_from = {{_base_.baseline_weights.convformer_m36}}
