# CAFormer's optimizer in the baselines' recipe (metaformer_baseline_mlp_head_in1k.py): LAMB lr 8e-3 (eps 1e-6, betas
# 0.9/0.999, its own global gradient-norm limit 1.0, as timm's Lamb), weight decay 0.05, 20 warm-up epochs from 1e-6.
_base_ = ['./metaformer_baseline_mlp_head_in1k.py']

model = dict(backbone=dict(type='mmpoolformer.CAFormer'))
optim_wrapper = dict(optimizer=dict(_delete_=True, type='Lamb', lr=8e-3, weight_decay=0.05, eps=1e-6,
                                    betas=(0.9, 0.999)))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6 / 8e-3, by_epoch=True, end=20, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=20),
]
