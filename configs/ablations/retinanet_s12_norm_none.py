# RetinaNet (COCO) ablation of PoolFormer-S12, one change over retinanet_poolformer_s12_fpn_coco.py. No normalisation
# at all. Paper Table 5: 46.1 top-1 (MLN: 77.2). No ImageNet weights of this variant were released, so the backbone
# starts from scratch; for the paper's protocol train configs/ablations/cls_s12_norm_none.py first and pass its
# checkpoint as model.backbone.init_cfg.
_base_ = ['../retinanet_poolformer_s12_fpn_coco.py']

model = dict(backbone=dict(norm_cfg=None, init_cfg=None))
