# ImageNet classification ablation of PoolFormer-S12, one change over poolformer_s12_in1k.py. No normalisation at
# all. Paper Table 5: 46.1 top-1 (MLN: 77.2).
_base_ = ['../classification/poolformer_s12_in1k.py']

model = dict(backbone=dict(norm_cfg=None))
