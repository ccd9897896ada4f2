# Quickstart: RetinaNet + PoolFormer-S12 trained from scratch on the synthetic shapes set (data/demo/coco), sized for
# a 2-core CPU: data and schedule from ./_base_/coco_demo.py; here a narrower head, the images at 96 px for 8 epochs,
# and one box per place. Why (docs/quickstart.md): the class of a shape is learnt last, from the labelled shapes seen;
# at 96 px an iteration costs ~0.7x what it costs at 128 px, so 8 epochs take the time 6 took and show a third more
# shapes, and the runs of a seed study all learn the classes (at 128 px for 6 epochs some ended at half the mAP).
_base_ = ['../_base_/models/retinanet_poolformer_s12_fpn.py', './_base_/coco_demo.py', './_base_/scratch_s12.py']

model = dict(
    backbone={{_base_.scratch_s12}},
    neck=dict(out_channels=128),
    bbox_head=dict(
        num_classes=4, in_channels=128, feat_channels=128, stacked_convs=2,
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),  # helps training from scratch
        # objects are 19-56 px at 96 px: anchors of 24-38 px at stride 8, 48-76 px at stride 16
        anchor_generator=dict(octave_base_scale=3)),
    # the demo's shapes never overlap: one box per place, of the class scored highest. Per-class NMS keeps the best
    # box of every class over a shape, and a classifier trained with focal loss scores the other classes there at
    # 0.3-0.4, so the drawings (score >= 0.3) showed two to four boxes of different classes on most shapes.
    test_cfg=dict(nms=dict(class_agnostic=True)))

image_size = (96, 96)
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
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_epochs = 8
train_cfg = dict(max_epochs=max_epochs, val_interval=4)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min_ratio=0.01, by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True)
]
default_hooks = dict(checkpoint=dict(interval=max_epochs))
