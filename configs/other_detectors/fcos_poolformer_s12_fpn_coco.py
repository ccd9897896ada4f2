# FCOS with a PoolFormer-S12 backbone: mmdet's FCOS config, only the backbone (and the FPN inputs) swapped.
_base_ = [
    'mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py',
    '../_base_/release_weights.py', '../_base_/mmpoolformer_runtime.py'
]

model = dict(
    # PoolFormer's ImageNet weights expect RGB input normalised with the ImageNet mean/std (FCOS's base is caffe-style).
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(
        _delete_=True,
        type='mmpoolformer.PoolFormer',
        arch='s12',
        out_indices=(1, 2, 3),  # strides 8, 16, 32: what FCOS's FPN reads
        init_cfg=dict(type='Pretrained', checkpoint={{_base_.release_weights.poolformer_s12}})),
    neck=dict(in_channels=[128, 320, 512], start_level=0))
optim_wrapper = dict(optimizer=dict(_delete_=True, type='AdamW', lr=1e-4, weight_decay=1e-4))
