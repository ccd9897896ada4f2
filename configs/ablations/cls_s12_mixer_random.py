# ImageNet classification ablation of PoolFormer-S12, one change over poolformer_s12_in1k.py. Token mixer: a frozen
# random token-mixing matrix in every block (RandomMixing over the 56/28/14/7 token grids of a 224 px image, so
# classification only; 21 M frozen numbers in all, as in the paper). Paper Table 5: 75.8 top-1 (PoolFormer-S12: 77.2).
_base_ = ['../classification/poolformer_s12_in1k.py']

model = dict(backbone=dict(
    type='mmpoolformer.MetaFormer',
    token_mixers=[dict(type='RandomMixing', spatial_shape=56), dict(type='RandomMixing', spatial_shape=28),
                  dict(type='RandomMixing', spatial_shape=14), dict(type='RandomMixing', spatial_shape=7)]))
