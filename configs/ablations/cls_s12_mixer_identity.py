# ImageNet classification ablation of PoolFormer-S12, one change over poolformer_s12_in1k.py. Token mixer: identity
# (no token mixing), the official metaformer_id_s12. Paper Table 5: 74.3 top-1 (PoolFormer-S12: 77.2).
_base_ = ['../classification/poolformer_s12_in1k.py']

model = dict(backbone=dict(type='mmpoolformer.MetaFormer', token_mixers=dict(type='Identity')))
