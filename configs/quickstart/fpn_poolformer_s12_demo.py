# Quickstart: Semantic FPN + PoolFormer-S12 trained from scratch on the synthetic shapes set (data/demo/ade, ADE20K
# layout: label 0 unused, 1 background, 2-5 shapes; reduce_zero_label), sized for a 2-core CPU.
_base_ = ['../fpn_poolformer_s12_ade20k_40k.py', './_base_/scratch_s12.py']

demo_data = dict(root='data/demo', seed=0)
data_root = 'data/demo/ade'
metainfo = dict(classes=('background', 'circle', 'square', 'triangle', 'cross'),
                palette=[(40, 40, 40), (220, 20, 60), (0, 128, 255), (0, 170, 0), (255, 160, 0)])
# the 128 px images are trained and predicted at 96 px (predictions are scored at 128 px): a step costs about
# two thirds of one at 128 px, and more steps fit the time
crop_size = (96, 96)

model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone={{_base_.scratch_s12}},
    # 64 channels after the backbone: at this size the stride-4 3x3 convolutions otherwise cost as much as it does
    neck=dict(out_channels=64),
    decode_head=dict(in_channels=[64, 64, 64, 64], channels=64, num_classes=5))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='Resize', scale=crop_size, keep_ratio=True),  # a short schedule: flips only, no scale jitter
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmpoolformer.AlignResize', scale=(384, 96), keep_ratio=True, size_divisor=32),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs')
]
dataset = dict(type='BaseSegDataset', data_root=data_root, metainfo=metainfo, img_suffix='.jpg',
               seg_map_suffix='.png', reduce_zero_label=True)
# data loading in the main process: a worker process would compete with training for the two cores
train_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(dataset, data_prefix=dict(img_path='images/training', seg_map_path='annotations/training'),
                 pipeline=train_pipeline, _delete_=True))
val_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    dataset=dict(dataset, data_prefix=dict(img_path='images/validation', seg_map_path='annotations/validation'),
                 pipeline=test_pipeline, _delete_=True))
test_dataloader = val_dataloader

max_iters = 1500
train_cfg = dict(max_iters=max_iters, val_interval=750)
optim_wrapper = dict(optimizer=dict(lr=4e-3, weight_decay=0.05), clip_grad=dict(_delete_=True, max_norm=10.))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='PolyLR', power=0.9, eta_min=0.0, begin=100, end=max_iters, by_epoch=False)
]
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
randomness = dict(seed=0)
