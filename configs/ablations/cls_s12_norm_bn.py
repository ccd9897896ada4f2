# ImageNet classification ablation of PoolFormer-S12, one change over poolformer_s12_in1k.py. Norm: BatchNorm instead
# of MLN (GroupNorm with one group). Paper Table 5: MLN is 0.8 above BN (MLN: 77.2).
_base_ = ['../classification/poolformer_s12_in1k.py']

model = dict(backbone=dict(norm_cfg=dict(type='BN')))
