# UperNet + PoolFormer-S12, ADE20K, 160k iterations: another decode head on the same backbone. Not a paper result:
# the optimiser follows MMSegmentation's Swin/UperNet recipe (AdamW lr 6e-5, weight decay 0.01, 1500-iteration warm-up,
# poly decay power 1.0), 2 images per GPU x 8 GPUs.
_base_ = [
    'mmseg::_base_/models/upernet_r50.py', 'mmseg::_base_/datasets/ade20k.py', 'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py', './_base_/release_weights.py', './_base_/mmpoolformer_runtime.py'
]

crop_size = (512, 512)
model = dict(
    pretrained=None,
    # Pads training crops to 512x512 (images with 0, labels with the ignore index 255); also takes test batches of
    # images of different sizes (padded to a common multiple of 32, predictions cropped back).
    data_preprocessor=dict(type='mmpoolformer.MixedSizeSegDataPreProcessor', size=crop_size, pad_val=0,
                           seg_pad_val=255, test_cfg=dict(size_divisor=32)),
    backbone=dict(
        _delete_=True,
        type='mmpoolformer.PoolFormer',
        arch='s12',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.1,
        init_cfg=dict(
            type='Pretrained',
            checkpoint={{_base_.release_weights.poolformer_s12}})),
    decode_head=dict(in_channels=[64, 128, 320, 512], num_classes=150),
    auxiliary_head=dict(in_channels=320, num_classes=150))

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys=dict(norm=dict(decay_mult=0.), layer_scale=dict(decay_mult=0.))))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', power=1.0, eta_min=0.0, begin=1500, end=160000, by_epoch=False)
]
train_dataloader = dict(batch_size=2)

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmpoolformer.AlignResize', scale=(2048, 512), keep_ratio=True, size_divisor=32),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs')
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
