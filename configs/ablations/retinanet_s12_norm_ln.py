# RetinaNet (COCO) ablation of PoolFormer-S12, one change over retinanet_poolformer_s12_fpn_coco.py. Norm: LayerNorm
# over the channels of each token instead of MLN (GroupNorm with one group, over C, H and W). Paper Table 5: MLN is
# 0.7 above LN (MLN: 77.2). No ImageNet weights of this variant were released, so the backbone starts from scratch;
# for the paper's protocol train configs/ablations/cls_s12_norm_ln.py first and pass its checkpoint as
# model.backbone.init_cfg.
_base_ = ['../retinanet_poolformer_s12_fpn_coco.py']

model = dict(backbone=dict(norm_cfg=dict(type='LayerNorm2d'), init_cfg=None))
