# PoolFormer-S12 ImageNet-1K classifier on MMPretrain 1.2 with the official training recipe (paper Table 2: 77.2 top-1,
# 11.9 M params, 1.8 G MACs). The official ImageNet file (official or timm layout) tests directly:
#   tools/test.py configs/classification/poolformer_s12_in1k.py poolformer_s12.pth.tar --data-root /path/to/imagenet
_base_ = [
    '../_base_/mmpoolformer_runtime.py',
    'mmpretrain::_base_/datasets/imagenet_bs128_poolformer_small_224.py',
    'mmpretrain::_base_/schedules/imagenet_bs1024_adamw_swin.py',
    'mmpretrain::_base_/default_runtime.py',
]

# The paper's classifier: the last stage's output through its norm (GroupNorm, 1 group), global average pooling,
# one linear layer; initialised as the official model (truncated normal, std 0.02).
model = dict(
    type='ImageClassifier',
    backbone=dict(type='mmpoolformer.PoolFormer', arch='s12', drop_path_rate=0.1, out_indices=(3,)),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=1000, in_channels=512,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
              init_cfg=dict(type='TruncNormal', layer='Linear', std=.02, bias=0.)),
    # Mixup 0.8 or CutMix 1.0 on every batch, each with probability 0.5 (timm's switch prob)
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]))

# Data (the base): RandomResizedCrop 224, bicubic (timm draws bilinear or bicubic at random; MMPretrain has one
# interpolation per transform), flip, RandAugment rand-m9-mstd0.5-inc1, random erasing 0.25 (per-pixel random);
# the official command's colour jitter 0.4 is inactive there too: timm applies it only without auto-augment.
# Test: resize the short side to floor(224 / crop_pct) with crop_pct 0.9 (248), bicubic, centre crop 224.
# 8 GPUs x 128 images = 1024 per step. On fewer GPUs keep that total with gradient accumulation (e.g. 2 GPUs:
# --cfg-options optim_wrapper.accumulative_counts=4), or scale the lr to the smaller batch with
# --cfg-options auto_scale_lr.enable=True (lr = total batch / 1024 * 1e-3, the official rule).
# ImageNet in MMPretrain's layout: train/ and val/ with one folder per class, or images plus meta/{train,val}.txt.
data_root = 'data/imagenet'
train_dataloader = dict(batch_size=128, dataset=dict(data_root=data_root))
val_dataloader = dict(batch_size=128, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
# crop_pct 0.95 (M36, M48 and the MetaFormer variants' official default): short side floor(224 / 0.95) = 235
test_pipeline_crop_pct_095 = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=235, edge='short', backend='pillow', interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]

# AdamW lr 1e-3 (= total batch / 1024 * 1e-3), weight decay 0.05 (none on norms, biases and layer scales), 300
# epochs: 5 warm-up epochs linear from 1e-6, then cosine to 1e-5. No gradient clipping.
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(lr=1e-3), accumulative_counts=1)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, end=5, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=5),
]
auto_scale_lr = dict(enable=False, base_batch_size=1024)
default_hooks = dict(checkpoint=dict(max_keep_ckpts=3, save_best='auto'))
