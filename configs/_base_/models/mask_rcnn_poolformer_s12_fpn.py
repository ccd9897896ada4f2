# Mask R-CNN + PoolFormer-S12 + FPN, the model only (mmdet's Mask R-CNN with the backbone swapped): the base of the
# COCO config and of the quickstart.
_base_ = ['mmdet::_base_/models/mask-rcnn_r50_fpn.py', '../release_weights.py', '../mmpoolformer_runtime.py']

pretrained = {{_base_.release_weights.poolformer_s12}}
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmpoolformer.PoolFormer',
        arch='s12',
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[64, 128, 320, 512], out_channels=256, num_outs=5))
