# ImageNet classification ablation of PoolFormer-S12, one change over poolformer_s12_in1k.py. Token mixer: 3x3
# depthwise convolution. Paper Table 5: 78.1 top-1 (PoolFormer-S12: 77.2).
_base_ = ['../classification/poolformer_s12_in1k.py']

model = dict(backbone=dict(type='mmpoolformer.MetaFormer', token_mixers=dict(type='DepthwiseConv', kernel_size=3)))
