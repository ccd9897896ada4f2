# Semantic FPN + PoolFormerV2-S12, ADE20K, 40k iterations. A config without a released result: no dense-prediction
# recipe of the MetaFormer baselines has been published, so this is PoolFormer-S12's
# (fpn_poolformer_s12_ade20k_40k.py; the paper's Semantic FPN recipe: AdamW lr 2e-4, weight decay 1e-4, poly decay,
# 40k iterations of 32 images), chosen because PoolFormerV2-S12 has PoolFormer-S12's skeleton, stage widths and
# strides (see docs/metaformer_baselines.md). Only the backbone changes; it starts from the official ImageNet-1K file.
_base_ = ['./fpn_poolformer_s12_ade20k_40k.py', './_base_/baseline_weights.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmpoolformer.PoolFormerV2',
        arch='s12',
        out_indices=(0, 1, 2, 3),
        init_cfg=dict(type='Pretrained', checkpoint={{_base_.baseline_weights.poolformerv2_s12}})))
