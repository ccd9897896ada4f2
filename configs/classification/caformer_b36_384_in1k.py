# CAFormer-B36 at 384 px (published: 86.4 top-1, 72.2 G MACs): the official fine-tuning of
# scripts/caformer/finetune_caformer_b36_384.sh from the 224 px classifier: LAMB lr 1e-4, drop path 0.8, head dropout
# 0.5 (the rest in _base_/metaformer_baseline_384.py). Tests the official caformer_b36_384.pth (and
# _384_in21ft1k.pth).
_base_ = ['./_base_/metaformer_baseline_384.py']

model = dict(
    backbone=dict(type='mmpoolformer.CAFormer', arch='b36', drop_path_rate=0.8),
    neck=dict(in_channels=768),
    head=dict(in_channels=768, dropout=0.5))
optim_wrapper = dict(optimizer=dict(_delete_=True, type='Lamb', lr=1e-4, weight_decay=0.05, eps=1e-6,
                                    betas=(0.9, 0.999)))
load_from = {{_base_.baseline_weights.caformer_b36}}
