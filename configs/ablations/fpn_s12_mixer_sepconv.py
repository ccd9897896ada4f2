# Semantic FPN (ADE20K) ablation of PoolFormer-S12, one change over
# fpn_poolformer_s12_ade20k_40k.py. Token mixer: the separable convolution of ConvFormer/CAFormer ("MetaFormer
# Baselines for Vision", TPAMI 2023): 1x1 conv C -> 2C, StarReLU, 7x7 depthwise conv, 1x1 conv 2C -> C, no biases.
# No paper number: neither paper trains PoolFormer-S12 with this mixer. No ImageNet weights of this variant were
# released, so the backbone starts from scratch; for the paper's protocol train
# configs/ablations/cls_s12_mixer_sepconv.py first and pass its checkpoint as model.backbone.init_cfg.
_base_ = ['../fpn_poolformer_s12_ade20k_40k.py']

model = dict(backbone=dict(
    type='mmpoolformer.MetaFormer', token_mixers=dict(type='SepConv', kernel_size=7), init_cfg=None))
