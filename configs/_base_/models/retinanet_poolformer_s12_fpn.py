# RetinaNet + PoolFormer-S12 + FPN, the model only (mmdet's RetinaNet with the backbone swapped): the base of the COCO
# config and of the quickstart.
_base_ = ['mmdet::_base_/models/retinanet_r50_fpn.py', '../release_weights.py', '../mmpoolformer_runtime.py']

pretrained = {{_base_.release_weights.poolformer_s12}}
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmpoolformer.PoolFormer',
        arch='s12',
        # The official FPN (in_channels [64, 128, 320, 512], start_level=1) never reads stage 0. Emitting stages
        # 1-3 only builds the identical FPN (same layers and key names) with no unused stage-0 norm.
        out_indices=(1, 2, 3),
        frozen_stages=-1,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[128, 320, 512], out_channels=256, start_level=0, add_extra_convs='on_input', num_outs=5))
