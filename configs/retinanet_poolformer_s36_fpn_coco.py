_base_ = ['./retinanet_poolformer_s12_fpn_coco.py']

model = dict(backbone=dict(
    arch='s36',
    init_cfg=dict(checkpoint={{_base_.release_weights.poolformer_s36}})))
