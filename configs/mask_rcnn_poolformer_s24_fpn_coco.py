_base_ = ['./mask_rcnn_poolformer_s12_fpn_coco.py']

model = dict(backbone=dict(
    arch='s24',
    init_cfg=dict(checkpoint={{_base_.release_weights.poolformer_s24}})))
