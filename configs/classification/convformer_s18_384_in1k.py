# ConvFormer-S18 at 384 px (published: 84.4 top-1, 11.6 G MACs): the official fine-tuning of
# scripts/convformer/finetune_convformer_s18_384.sh from the 224 px classifier: AdamW lr 5e-5, drop path 0.3, head
# dropout 0.4 (the rest in _base_/metaformer_baseline_384.py). Tests the official convformer_s18_384.pth (and
# _384_in21ft1k.pth).
_base_ = ['./_base_/metaformer_baseline_384.py']

model = dict(
    backbone=dict(type='mmpoolformer.ConvFormer', arch='s18', drop_path_rate=0.3),
    neck=dict(in_channels=512),
    head=dict(in_channels=512, dropout=0.4))
optim_wrapper = dict(optimizer=dict(lr=5e-5))
load_from = {{_base_.baseline_weights.convformer_s18}}
