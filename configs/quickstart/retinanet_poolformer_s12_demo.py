# Quickstart: RetinaNet + PoolFormer-S12 trained from scratch on the synthetic shapes set (data/demo/coco), sized for
# a 2-core CPU: data (96 px) and schedule (8 epochs) from ./_base_/coco_demo.py; here a narrower head and one box per
# place.
_base_ = ['../_base_/models/retinanet_poolformer_s12_fpn.py', './_base_/coco_demo.py', './_base_/scratch_s12.py']

model = dict(
    backbone={{_base_.scratch_s12}},
    neck=dict(out_channels=128),
    bbox_head=dict(
        num_classes=4, in_channels=128, feat_channels=128, stacked_convs=2,
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),  # helps training from scratch
        # objects are 19-56 px at 96 px: anchors of 24-38 px at stride 8, 48-76 px at stride 16
        anchor_generator=dict(octave_base_scale=3)),
    # the demo's shapes never overlap: one box per place, of the class scored highest. Per-class NMS keeps the best
    # box of every class over a shape, and a classifier trained with focal loss scores the other classes there at
    # 0.3-0.4, so the drawings (score >= 0.3) showed two to four boxes of different classes on most shapes.
    test_cfg=dict(nms=dict(class_agnostic=True)))
