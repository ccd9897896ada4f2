# Quickstart: Mask R-CNN + PoolFormer-S12 trained from scratch on the synthetic shapes set (data/demo/coco), sized
# for a 2-core CPU: narrower FPN and heads, fewer RoIs. The data set is written on first use.
_base_ = ['../mask_rcnn_poolformer_s12_fpn_coco.py']

demo_data = dict(root='data/demo', seed=0)
data_root = 'data/demo/coco/'
metainfo = dict(classes=('circle', 'square', 'triangle', 'cross'),
                palette=[(220, 20, 60), (0, 128, 255), (0, 170, 0), (255, 160, 0)])
image_size = (128, 128)

gn = dict(type='GN', num_groups=16, requires_grad=True)
model = dict(
    # from scratch (no download); layer scales start at 0.1 instead of 1e-5 so the blocks contribute from the start
    backbone=dict(init_cfg=None, arch=dict(_delete_=True, depths=[2, 2, 6, 2], embed_dims=[64, 128, 320, 512],
                                           layer_scale_init_value=0.1)),
    # 64 channels after the backbone (mmdet: 256): the stride-4 3x3 convolutions (FPN, RPN) and the RoI heads
    # otherwise cost as much as the backbone; 64 instead of 128 cut the step time by ~40% (1.25 s -> 0.75 s)
    neck=dict(out_channels=64),
    # objects are 25-75 px: anchors from 16 px at stride 4
    rpn_head=dict(in_channels=64, feat_channels=64, anchor_generator=dict(scales=[4])),
    # RoIs of 16-32 px pool from stride 4, 32-64 px from stride 8, ... (COCO's 56 px at 800 px, scaled to 128 px);
    # GroupNorm in the RoI heads, as for training Mask R-CNN from scratch (He et al., "Rethinking ImageNet
    # Pre-training"): one GN conv before the box head's FC layer, GN in the mask head
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64, finest_scale=16),
        bbox_head=dict(type='ConvFCBBoxHead', num_shared_convs=1, num_shared_fcs=1, conv_out_channels=64,
                       norm_cfg=gn, in_channels=64, fc_out_channels=256, num_classes=4),
        mask_roi_extractor=dict(out_channels=64, finest_scale=16),
        mask_head=dict(num_convs=2, in_channels=64, conv_out_channels=64, num_classes=4, norm_cfg=gn)),
    # 1-3 objects per image: 32 RoIs per image, up to half of them positive, so the classifier sees many objects
    train_cfg=dict(rpn_proposal=dict(nms_pre=1000, max_per_img=300),
                   rcnn=dict(sampler=dict(num=32, pos_fraction=0.5))),
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=100)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
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

max_epochs = 5
train_cfg = dict(max_epochs=max_epochs, val_interval=5)
optim_wrapper = dict(optimizer=dict(lr=2e-3, weight_decay=0.05), clip_grad=dict(_delete_=True, max_norm=10.))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min_ratio=0.01, by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True)
]
auto_scale_lr = dict(enable=False)
default_hooks = dict(logger=dict(interval=25), checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0)
