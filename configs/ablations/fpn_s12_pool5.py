# Semantic FPN (ADE20K) ablation of PoolFormer-S12, one change over fpn_poolformer_s12_ade20k_40k.py. Pooling size 5
# instead of 3. Paper Table 5: pool sizes 3, 5 and 7 within 0.1 of each other (pool 3: 77.2). No ImageNet weights of
# this variant were released, so the backbone starts from scratch; for the paper's protocol train
# configs/ablations/cls_s12_pool5.py first and pass its checkpoint as model.backbone.init_cfg.
_base_ = ['../fpn_poolformer_s12_ade20k_40k.py']

model = dict(backbone=dict(pool_size=5, init_cfg=None))
