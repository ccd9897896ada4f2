# Semantic FPN (ADE20K) ablation of PoolFormer-S12, one change over fpn_poolformer_s12_ade20k_40k.py. Token mixer:
# identity (no token mixing), the official metaformer_id_s12. Paper Table 5: 74.3 top-1 (PoolFormer-S12: 77.2). The
# backbone starts from the released ImageNet weights of this variant.
_base_ = ['../fpn_poolformer_s12_ade20k_40k.py']

pretrained = {{_base_.release_weights.metaformer_id_s12}}
model = dict(backbone=dict(
    type='mmpoolformer.MetaFormer', token_mixers=dict(type='Identity'),
    init_cfg=dict(type='Pretrained', checkpoint=pretrained)))
