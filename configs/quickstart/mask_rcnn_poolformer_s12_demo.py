# Quickstart: Mask R-CNN + PoolFormer-S12 trained from scratch on the synthetic shapes set (data/demo/coco), sized
# for a 2-core CPU: data (96 px) and schedule from ./_base_/coco_demo.py, here with masks, 9 epochs at AdamW 3e-3,
# narrower FPN and heads, fewer RoIs and one box per place. Why (docs/quickstart.md): at 128 px for 5 epochs the RoI
# classifier had not learnt the shapes (another class drawn over 91 % of them); at 96 px an iteration costs less, so
# more epochs show it more shapes (7 epochs still left another class drawn over 11-31 % of them, 9 fit in 15 min).
_base_ = ['../_base_/models/mask_rcnn_poolformer_s12_fpn.py', './_base_/coco_demo.py', './_base_/scratch_s12.py']

gn = dict(type='GN', num_groups=16, requires_grad=True)
model = dict(
    backbone={{_base_.scratch_s12}},
    # 64 channels after the backbone (mmdet: 256): the stride-4 3x3 convolutions (FPN, RPN) and the RoI heads
    # otherwise cost as much as the backbone; 64 instead of 128 cut the step time by ~40% (1.25 s -> 0.75 s)
    neck=dict(out_channels=64),
    # objects are 19-56 px: anchors from 16 px at stride 4
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
    # 1-6 objects per image (3.2 on average): 32 RoIs per image, up to half of them positive, so the classifier sees
    # many objects
    train_cfg=dict(rpn_proposal=dict(nms_pre=1000, max_per_img=300),
                   rcnn=dict(sampler=dict(num=32, pos_fraction=0.5))),
    # the shapes never overlap: one box per place, of the class scored highest (per-class NMS kept a box of every
    # class scored >= 0.3 over a shape, as in the RetinaNet quickstart)
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=100), rcnn=dict(nms=dict(class_agnostic=True))))

# the base's pipelines at its 96 px, with masks
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale={{_base_.image_size}}, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale={{_base_.image_size}}, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(metric=['bbox', 'segm'])
test_evaluator = val_evaluator

max_epochs = 9
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=3e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min_ratio=0.01, by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True)
]
default_hooks = dict(logger=dict(interval=25), checkpoint=dict(interval=max_epochs))
