# Quickstart: a half-width PoolFormer-S12 image classifier trained from scratch on single demo shapes
# (data/demo/shapes: circle, cross, square, triangle; 48 px crops of the demo scenes in MMPretrain's folder format,
# written on first use), sized for a 2-core CPU. The settings that differ from the ImageNet config it inherits say why.
_base_ = ['../classification/poolformer_s12_in1k.py']

demo_data = dict(root='data/demo/shapes', kind='shapes', seed=0, num_train=2000, num_val=200, size=48)
data_root = 'data/demo/shapes'

model = dict(
    # from scratch (no download); half the channels of S12 (same depths), so 4x cheaper steps: on this set PoolFormer
    # sits at chance for its first ~900 steps whatever its width, and only a narrow one gets through enough steps in
    # the time; layer scales start at 0.1 instead of 1e-5 so the blocks contribute from the start; no drop path
    backbone=dict(drop_path_rate=0., arch=dict(_delete_=True, depths=[2, 2, 6, 2], embed_dims=[32, 64, 160, 256],
                                               layer_scale_init_value=0.1)),
    head=dict(num_classes=4, in_channels=256),
    train_cfg=None)  # no Mixup/CutMix: they pay off over hundreds of epochs, not a few
data_preprocessor = dict(num_classes=4)

# the shapes come in every rotation and colour already: flips are the only augmentation
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomFlip', prob=[0.25, 0.25], direction=['horizontal', 'vertical']),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
# classes from the folder names (alphabetical); data loading in the main process: a worker process would compete
# with training for the two cores
train_dataloader = dict(
    batch_size=32, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, type='CustomDataset', data_root=data_root, data_prefix='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=50, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, type='CustomDataset', data_root=data_root, data_prefix='val', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1,))  # 4 classes: no top-5
test_evaluator = val_evaluator

max_epochs = 70  # 63 iterations of 32 images each
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=2e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=0., by_epoch=True, begin=1, end=max_epochs, convert_to_iter_based=True),
]
auto_scale_lr = dict(enable=False)
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=max_epochs, max_keep_ckpts=1, save_best=None))
randomness = dict(seed=0)
