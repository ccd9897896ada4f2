# Semantic FPN (ADE20K) ablation of PoolFormer-S12, one change over fpn_poolformer_s12_ade20k_40k.py. No
# normalisation at all. Paper Table 5: 46.1 top-1 (MLN: 77.2). No ImageNet weights of this variant were released, so
# the backbone starts from scratch; for the paper's protocol train configs/ablations/cls_s12_norm_none.py first and
# pass its checkpoint as model.backbone.init_cfg.
_base_ = ['../fpn_poolformer_s12_ade20k_40k.py']

model = dict(backbone=dict(norm_cfg=None, init_cfg=None))
