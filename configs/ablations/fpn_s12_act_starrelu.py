# Semantic FPN (ADE20K) ablation of PoolFormer-S12, one change over
# fpn_poolformer_s12_ade20k_40k.py. Activation: StarReLU (s * relu(x)**2 + b; "MetaFormer Baselines for Vision",
# TPAMI 2023) instead of GELU in the channel MLP. No paper number: neither paper trains PoolFormer-S12 with it. No
# ImageNet weights of this variant were released, so the backbone starts from scratch; for the paper's protocol
# train configs/ablations/cls_s12_act_starrelu.py first and pass its checkpoint as model.backbone.init_cfg.
_base_ = ['../fpn_poolformer_s12_ade20k_40k.py']

model = dict(backbone=dict(act_cfg=dict(type='StarReLU'), init_cfg=None))
