# UperNet + ConvFormer-S18, ADE20K, 160k iterations. A config without a released result: no dense-prediction recipe of
# the MetaFormer baselines has been published, so this is PoolFormer-S12's (upernet_poolformer_s12_ade20k_160k.py;
# AdamW lr 6e-5, weight decay 0.01 (none on norms, layer and residual scales), 1.5k-iteration warm-up, linear decay,
# 160k iterations of 16 images), chosen because ConvFormer-S18 has PoolFormer-S12's skeleton, stage widths and strides
# (see docs/metaformer_baselines.md). Only the backbone changes; it starts from the official ImageNet-1K file.
_base_ = ['./upernet_poolformer_s12_ade20k_160k.py', './_base_/baseline_weights.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmpoolformer.ConvFormer',
        arch='s18',
        out_indices=(0, 1, 2, 3), drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint={{_base_.baseline_weights.convformer_s18}})))

optim_wrapper = dict(paramwise_cfg=dict(custom_keys=dict(res_scale=dict(decay_mult=0.))))
