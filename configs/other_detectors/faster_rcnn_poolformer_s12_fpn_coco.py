# Faster R-CNN with a PoolFormer-S12 backbone: mmdet's config, only the backbone (and the FPN inputs) swapped.
_base_ = [
    'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    '../_base_/release_weights.py', '../_base_/mmpoolformer_runtime.py'
]

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmpoolformer.PoolFormer',
        arch='s12',
        out_indices=(0, 1, 2, 3),
        init_cfg=dict(type='Pretrained', checkpoint={{_base_.release_weights.poolformer_s12}})),
    neck=dict(in_channels=[64, 128, 320, 512]))
optim_wrapper = dict(optimizer=dict(_delete_=True, type='AdamW', lr=2e-4, weight_decay=1e-4))
