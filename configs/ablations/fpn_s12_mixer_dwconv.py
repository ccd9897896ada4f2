# Semantic FPN (ADE20K) ablation of PoolFormer-S12, one change over fpn_poolformer_s12_ade20k_40k.py. Token mixer:
# 3x3 depthwise convolution. Paper Table 5: 78.1 top-1 (PoolFormer-S12: 77.2). No ImageNet weights of this variant
# were released, so the backbone starts from scratch; for the paper's protocol train
# configs/ablations/cls_s12_mixer_dwconv.py first and pass its checkpoint as model.backbone.init_cfg.
_base_ = ['../fpn_poolformer_s12_ade20k_40k.py']

model = dict(backbone=dict(
    type='mmpoolformer.MetaFormer', token_mixers=dict(type='DepthwiseConv', kernel_size=3), init_cfg=None))
