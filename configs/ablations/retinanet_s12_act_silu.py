# RetinaNet (COCO) ablation of PoolFormer-S12, one change over retinanet_poolformer_s12_fpn_coco.py. Activation: SiLU
# instead of GELU in the channel MLP. Paper Table 5: as GELU (77.2). No ImageNet weights of this variant were
# released, so the backbone starts from scratch; for the paper's protocol train configs/ablations/cls_s12_act_silu.py
# first and pass its checkpoint as model.backbone.init_cfg.
_base_ = ['../retinanet_poolformer_s12_fpn_coco.py']

model = dict(backbone=dict(act_cfg=dict(type='SiLU'), init_cfg=None))
