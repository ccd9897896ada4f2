# RetinaNet + PoolFormer-S12 + FPN, COCO, 1x schedule: the official PoolFormer hyper-parameters on MMDetection 3.
_base_ = ['mmdet::retinanet/retinanet_r50_fpn_1x_coco.py']
custom_imports = dict(imports=['mmpoolformer'], allow_failed_imports=False)

pretrained = 'https://github.com/sail-sg/poolformer/releases/download/v1.0/poolformer_s12.pth.tar'
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

# AdamW lr 1e-4, weight decay 1e-4, no gradient clipping; 12 epochs, 500-iter linear warm-up from 0.001, steps at
# epochs 8 and 11, 2 images per GPU x 8 GPUs (all from the mmdet base except the optimizer).
optim_wrapper = dict(optimizer=dict(_delete_=True, type='AdamW', lr=1e-4, weight_decay=1e-4), clip_grad=None)
