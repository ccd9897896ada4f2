# RetinaNet + PoolFormer-S12 + FPN, COCO, 1x schedule: the official PoolFormer hyper-parameters on MMDetection 3.
# The bases are those of mmdet's retinanet_r50_fpn_1x_coco.py, with the PoolFormer model in place of its model.
_base_ = [
    './_base_/models/retinanet_poolformer_s12_fpn.py', 'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py', 'mmdet::_base_/default_runtime.py', 'mmdet::retinanet/retinanet_tta.py'
]

# AdamW lr 1e-4, weight decay 1e-4, no gradient clipping; 12 epochs, 500-iter linear warm-up from 0.001, steps at
# epochs 8 and 11, 2 images per GPU x 8 GPUs (all from the mmdet bases except the optimizer).
optim_wrapper = dict(optimizer=dict(_delete_=True, type='AdamW', lr=1e-4, weight_decay=1e-4), clip_grad=None)
