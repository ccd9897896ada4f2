# ImageNet classification ablation of PoolFormer-S12, one change over poolformer_s12_in1k.py. Activation: SiLU
# instead of GELU in the channel MLP. Paper Table 5: as GELU (77.2).
_base_ = ['../classification/poolformer_s12_in1k.py']

model = dict(backbone=dict(act_cfg=dict(type='SiLU')))
