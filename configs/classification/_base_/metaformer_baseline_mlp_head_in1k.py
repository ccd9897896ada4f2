# The baselines' recipe (metaformer_baseline_in1k.py) for ConvFormer and CAFormer: their MLP classifier head
# (fc1 C -> 4C, SquaredReLU, LayerNorm eps 1e-5, dropout, fc2) and 20 warm-up epochs; AdamW lr 4e-3 (ConvFormer).
_base_ = ['./metaformer_baseline_in1k.py']

model = dict(
    backbone=dict(type='mmpoolformer.ConvFormer', arch='s18'),
    head=dict(_delete_=True, type='mmpoolformer.MlpClsHead', num_classes=1000, in_channels=512, dropout=0.0,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original')))
warmup_epochs = 20
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6 / 4e-3, by_epoch=True, end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=warmup_epochs),
]
