# ImageNet classification ablation of PoolFormer-S12, one change over poolformer_s12_in1k.py. Activation: StarReLU
# (s * relu(x)**2 + b, two learnable scalars; "MetaFormer Baselines for Vision", TPAMI 2023) instead of GELU in the
# channel MLP. No paper number: neither paper trains PoolFormer-S12 with it (its ablation is on ConvFormer-S18).
_base_ = ['../classification/poolformer_s12_in1k.py']

model = dict(backbone=dict(act_cfg=dict(type='StarReLU')))
