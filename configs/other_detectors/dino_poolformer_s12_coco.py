# DINO (4 scales) with a PoolFormer-S12 backbone: mmdet's config, only the backbone (and the neck inputs) swapped.
_base_ = [
    'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py', '../_base_/release_weights.py', '../_base_/mmpoolformer_runtime.py'
]

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmpoolformer.PoolFormer',
        arch='s12',
        out_indices=(1, 2, 3),
        init_cfg=dict(type='Pretrained', checkpoint={{_base_.release_weights.poolformer_s12}})),
    neck=dict(in_channels=[128, 320, 512]))
