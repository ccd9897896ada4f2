# Semantic FPN (ADE20K) ablation of PoolFormer-S12, one change over fpn_poolformer_s12_ade20k_40k.py. Hybrid stages
# [Pool, Pool, Attention, Attention], the official metaformer_ppaa_s12_224: attention in stages 3-4 (head_dim 32, qkv
# without bias, output projection with bias), a learned 14x14 position embedding before stage 3 (resized bicubically
# to other feature sizes), LayerNorm over channels. Paper Table 5: 81.0 top-1 at 16.5 M params and 2.5 G MACs
# (PoolFormer-S12: 77.2, 11.9 M, 1.8 G). The backbone starts from the released ImageNet weights of this variant.
_base_ = ['../fpn_poolformer_s12_ade20k_40k.py']

pretrained = {{_base_.release_weights.metaformer_ppaa_s12_224}}
attention = dict(type='Attention', head_dim=32, qkv_bias=False, proj_bias=True)
model = dict(backbone=dict(
    type='mmpoolformer.MetaFormer', norm_cfg=dict(type='LayerNorm2d'),
    token_mixers=[dict(type='Pooling'), dict(type='Pooling'), attention, attention],
    pos_embed_sizes=[None, None, (14, 14), None], init_cfg=dict(type='Pretrained', checkpoint=pretrained)))
