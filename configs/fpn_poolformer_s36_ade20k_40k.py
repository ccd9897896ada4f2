_base_ = ['./fpn_poolformer_s12_ade20k_40k.py']

model = dict(backbone=dict(
    arch='s36',
    init_cfg=dict(checkpoint={{_base_.release_weights.poolformer_s36}})))
