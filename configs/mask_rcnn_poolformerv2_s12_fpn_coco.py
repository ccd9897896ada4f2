# Mask R-CNN + PoolFormerV2-S12 + FPN, COCO, 1x schedule. A config without a released result: no dense-prediction
# recipe of the MetaFormer baselines has been published, so this is PoolFormer-S12's
# (mask_rcnn_poolformer_s12_fpn_coco.py; the paper's Mask R-CNN recipe: AdamW lr 2e-4, weight decay 1e-4, 12 epochs,
# steps at 8 and 11), chosen because PoolFormerV2-S12 has PoolFormer-S12's skeleton, stage widths and strides (see
# docs/metaformer_baselines.md). Only the backbone changes; it starts from the official ImageNet-1K file.
_base_ = ['./mask_rcnn_poolformer_s12_fpn_coco.py', './_base_/baseline_weights.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmpoolformer.PoolFormerV2',
        arch='s12',
        out_indices=(0, 1, 2, 3),
        init_cfg=dict(type='Pretrained', checkpoint={{_base_.baseline_weights.poolformerv2_s12}})))
