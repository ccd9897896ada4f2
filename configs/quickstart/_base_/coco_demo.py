# Data, schedule and runtime of the detection quickstarts (RetinaNet, Mask R-CNN) on the synthetic shapes set
# (data/demo/coco, written by tools/make_demo_data.py), sized for a 2-core CPU: boxes at 96 px for 8 epochs, as the
# RetinaNet quickstart trains; the quickstart configs add a model base and state what differs (Mask R-CNN: masks, 7
# epochs). Why 96 px for 8 epochs (docs/quickstart.md): the class of a shape is learnt last, from the
# labelled shapes seen; an iteration at 96 px costs ~0.7x one at 128 px, so 8 epochs take the time 6 took at 128 px
# and show a third more shapes, and the runs of a seed study all learn the classes (at 128 px for 6 epochs some ended
# at half the mAP).
_base_ = [
    'mmdet::_base_/datasets/coco_detection.py', 'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py'
]

demo_data = dict(root='data/demo', seed=0)
data_root = 'data/demo/coco/'
metainfo = dict(classes=('circle', 'square', 'triangle', 'cross'),
                palette=[(220, 20, 60), (0, 128, 255), (0, 170, 0), (255, 160, 0)])
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

# AdamW 2e-3 with weight decay 0.05 and gradient clipping, 100-iteration warm-up, then cosine over the epochs
max_epochs = 8
train_cfg = dict(max_epochs=max_epochs, val_interval=4)
optim_wrapper = dict(optimizer=dict(_delete_=True, type='AdamW', lr=2e-3, weight_decay=0.05),
                     clip_grad=dict(max_norm=10.))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min_ratio=0.01, by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True)
]
auto_scale_lr = dict(enable=False)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0)
