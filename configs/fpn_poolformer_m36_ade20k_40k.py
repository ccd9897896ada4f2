_base_ = ['./fpn_poolformer_s12_ade20k_40k.py']

model = dict(
    backbone=dict(
        arch='m36',
        init_cfg=dict(
            checkpoint={{_base_.release_weights.poolformer_m36}})),
    neck=dict(in_channels=[96, 192, 384, 768]))
