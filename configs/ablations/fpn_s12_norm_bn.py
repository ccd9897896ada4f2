# Semantic FPN (ADE20K) ablation of PoolFormer-S12, one change over fpn_poolformer_s12_ade20k_40k.py. Norm: SyncBN
# instead of MLN (GroupNorm with one group). Paper Table 5: MLN is 0.8 above BN (MLN: 77.2). No ImageNet weights of
# this variant were released, so the backbone starts from scratch; for the paper's protocol train
# configs/ablations/cls_s12_norm_bn.py first and pass its checkpoint as model.backbone.init_cfg.
_base_ = ['../fpn_poolformer_s12_ade20k_40k.py']

model = dict(backbone=dict(norm_cfg=dict(type='SyncBN'), init_cfg=None))
