# The baselines' 384 px fine-tuning (sail-sg/metaformer scripts/*/finetune_*_384.sh), over a 224 config: 30 epochs from
# the 224 ImageNet-1K classifier (load_from, head included), a batch of 1024 (8 GPUs x 32 x 4 accumulated steps),
# a constant lr (the script's --sched None), no Mixup/CutMix (label smoothing 0.1 stays), an EMA of the weights
# (decay 0.9999), input 384 (RandomResizedCrop 384 for training; test: short side 384, centre crop 384, crop_pct
# 1.0). The size configs set lr (LAMB 1e-4 for CAFormer, AdamW 5e-5 for ConvFormer), drop path and head dropout.
_base_ = ['./metaformer_baseline_mlp_head_in1k.py']

model = dict(train_cfg=None)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=384, backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandAugment', policies='timm_increasing', num_policies=2, total_level=10, magnitude_level=9,
         magnitude_std=0.5, hparams=dict(pad_val=[104, 116, 124], interpolation='bicubic')),
    dict(type='RandomErasing', erase_prob=0.25, mode='rand', min_area_ratio=0.02, max_area_ratio=1 / 3,
         fill_color=[103.53, 116.28, 123.675], fill_std=[57.375, 57.12, 58.395]),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=384, edge='short', backend='pillow', interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=384),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=32, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=32, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
optim_wrapper = dict(accumulative_counts=4)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True, begin=0, end=30)]
train_cfg = dict(max_epochs=30)
auto_scale_lr = dict(enable=False, base_batch_size=1024)
custom_hooks = [
    dict(type='mmpoolformer.NonFiniteLossHook'),
    dict(type='mmpoolformer.RandomStateHook'),
    dict(type='mmpoolformer.FastInferenceHook'),
    dict(type='EMAHook', momentum=1e-4, priority='ABOVE_NORMAL'),
]
