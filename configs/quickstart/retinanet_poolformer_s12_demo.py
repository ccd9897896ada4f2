# Quickstart: RetinaNet + PoolFormer-S12 trained from scratch on the synthetic shapes set (data/demo/coco), sized for
# a 2-core CPU. The data set is written on first use (tools/make_demo_data.py does the same by hand).
_base_ = ['../retinanet_poolformer_s12_fpn_coco.py']

demo_data = dict(root='data/demo', seed=0)
data_root = 'data/demo/coco/'
metainfo = dict(classes=('circle', 'square', 'triangle', 'cross'),
                palette=[(220, 20, 60), (0, 128, 255), (0, 170, 0), (255, 160, 0)])
image_size = (128, 128)

model = dict(
    # from scratch (no download); layer scales start at 0.1 instead of 1e-5 so the blocks contribute from the start
    backbone=dict(init_cfg=None, arch=dict(_delete_=True, depths=[2, 2, 6, 2], embed_dims=[64, 128, 320, 512],
                                           layer_scale_init_value=0.1)),
    neck=dict(out_channels=128),
    bbox_head=dict(
        num_classes=4, in_channels=128, feat_channels=128, stacked_convs=2,
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),  # helps training from scratch
        # objects are 25-75 px: anchors of 24-38 px at stride 8, 48-76 px at stride 16
        anchor_generator=dict(octave_base_scale=3)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
# data loading in the main process: a worker process would compete with training for the two cores
train_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo, ann_file='annotations/instances_train2017.json',
                 data_prefix=dict(img='train2017/'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo, ann_file='annotations/instances_val2017.json',
                 data_prefix=dict(img='val2017/'), pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator

max_epochs = 6
train_cfg = dict(max_epochs=max_epochs, val_interval=3)
optim_wrapper = dict(optimizer=dict(lr=2e-3, weight_decay=0.05), clip_grad=dict(_delete_=True, max_norm=10.))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min_ratio=0.01, by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True)
]
auto_scale_lr = dict(enable=False)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0)
