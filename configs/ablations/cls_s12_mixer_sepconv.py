# ImageNet classification ablation of PoolFormer-S12, one change over poolformer_s12_in1k.py. Token mixer: the
# separable convolution of ConvFormer/CAFormer ("MetaFormer Baselines for Vision", TPAMI 2023): 1x1 conv C -> 2C,
# StarReLU, 7x7 depthwise conv, 1x1 conv 2C -> C, no biases. No paper number: neither paper trains PoolFormer-S12
# with this mixer (ConvFormer-S18, all SepConv with the baselines' other settings, reaches 83.0).
_base_ = ['../classification/poolformer_s12_in1k.py']

model = dict(backbone=dict(type='mmpoolformer.MetaFormer', token_mixers=dict(type='SepConv', kernel_size=7)))
