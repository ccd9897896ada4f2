# Semantic FPN + PoolFormer-S12, ADE20K, 40k iterations: the official PoolFormer hyper-parameters on MMSegmentation 1.
_base_ = [
    'mmseg::_base_/models/fpn_r50.py', 'mmseg::_base_/datasets/ade20k.py', 'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_40k.py', './_base_/release_weights.py', './_base_/mmpoolformer_runtime.py'
]

crop_size = (512, 512)
pretrained = {{_base_.release_weights.poolformer_s12}}
model = dict(
    pretrained=None,  # the base's ResNet weights must not reach the PoolFormer backbone
    # Pads training crops to 512x512 (images with 0, labels with the ignore index 255); also takes test batches of
    # images of different sizes (padded to a common multiple of 32, predictions cropped back).
    data_preprocessor=dict(type='mmpoolformer.MixedSizeSegDataPreProcessor', size=crop_size, pad_val=0,
                           seg_pad_val=255, test_cfg=dict(size_divisor=32)),
    backbone=dict(
        _delete_=True,
        type='mmpoolformer.PoolFormer',
        arch='s12',
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,  # nothing frozen, as in the official training (mmseg's configs freeze the stem)
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[64, 128, 320, 512], out_channels=256, num_outs=4),
    decode_head=dict(channels=128, dropout_ratio=0.1, num_classes=150))

# AdamW lr 2e-4, weight decay 1e-4; poly decay (power 0.9, to 0) per iteration over 40k iterations;
# 4 images per GPU x 8 GPUs; checkpoint and evaluation every 4k iterations (those from the mmseg bases).
optim_wrapper = dict(
    _delete_=True, type='OptimWrapper', optimizer=dict(type='AdamW', lr=2e-4, weight_decay=1e-4), clip_grad=None)
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=40000, by_epoch=False)]
train_dataloader = dict(batch_size=4)

# Official test resize: keep-ratio resize into (2048, 512), then each side up to a multiple of 32; single scale.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmpoolformer.AlignResize', scale=(2048, 512), keep_ratio=True, size_divisor=32),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs')
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
