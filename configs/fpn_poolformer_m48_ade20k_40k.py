_base_ = ['./fpn_poolformer_s12_ade20k_40k.py']

model = dict(
    backbone=dict(
        arch='m48',
        init_cfg=dict(
            checkpoint='https://github.com/sail-sg/poolformer/releases/download/v1.0/poolformer_m48.pth.tar')),
    neck=dict(in_channels=[96, 192, 384, 768]))
