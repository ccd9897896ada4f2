# ImageNet classification ablation of PoolFormer-S12, one change over poolformer_s12_in1k.py. Norm: LayerNorm over
# the channels of each token instead of MLN (GroupNorm with one group, over C, H and W). Paper Table 5: MLN is 0.7
# above LN (MLN: 77.2).
_base_ = ['../classification/poolformer_s12_in1k.py']

model = dict(backbone=dict(norm_cfg=dict(type='LayerNorm2d')))
