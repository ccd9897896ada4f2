# The ImageNet-1K training recipe of "MetaFormer Baselines for Vision" on MMPretrain 1.2 (sail-sg/metaformer
# scripts/*/train_*.sh and the defaults of its train.py): everything PoolFormer's recipe (poolformer_s12_in1k.py) has
# (300 epochs, cosine to 1e-5, RandAugment rand-m9-mstd0.5-inc1, random erasing 0.25, Mixup 0.8 / CutMix 1.0, label
# smoothing 0.1, weight decay 0.05 with none on norms, biases and other 1-d parameters), and:
# - a batch of 4096: 8 GPUs x 128 images x 4 accumulated steps (the official 8 GPUs with --grad-accum-steps 4); the
#   lr is for that batch (the official script does not scale it);
# - AdamW lr 4e-3 with 5 warm-up epochs from 1e-6 (PoolFormerV2, IdentityFormer, RandFormer; ConvFormer with 20),
#   LAMB lr 8e-3 with 20 (CAFormer): set per family below it;
# - the classifier pools first, then a LayerNorm (eps 1e-6) of the pooled vector (neck GlobalPoolNorm), then a linear
#   layer (MlpClsHead for ConvFormer/CAFormer);
# - convolutions and linear layers initialised truncated normal (std 0.02, bias 0), as the official model;
# - test: crop_pct 1.0, i.e. resize the short side to 224 (bicubic) and centre-crop 224.
# The family configs set the backbone type and size, drop path and head dropout of the official script.
_base_ = ['../poolformer_s12_in1k.py', '../../_base_/baseline_weights.py']

model = dict(
    backbone=dict(_delete_=True, type='mmpoolformer.PoolFormerV2', arch='s12', out_indices=(3,), norm_outputs=False,
                  drop_path_rate=0.1, init_cfg=dict(type='TruncNormal', layer=['Conv2d', 'Linear'], std=.02, bias=0.)),
    neck=dict(_delete_=True, type='mmpoolformer.GlobalPoolNorm', in_channels=512, eps=1e-6),
    head=dict(in_channels=512))

train_dataloader = dict(batch_size=128)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=4e-3, weight_decay=0.05, eps=1e-8, betas=(0.9, 0.999)),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0),
    accumulative_counts=4)
warmup_epochs = 5
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6 / 4e-3, by_epoch=True, end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=warmup_epochs),
]
auto_scale_lr = dict(enable=False, base_batch_size=4096)

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=224, edge='short', backend='pillow', interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
