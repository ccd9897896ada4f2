# ImageNet classification ablation of PoolFormer-S12, one change over poolformer_s12_in1k.py. Pooling size 9 instead
# of 3. Paper Table 5: about 0.5 below pool size 3 (77.2).
_base_ = ['../classification/poolformer_s12_in1k.py']

model = dict(backbone=dict(pool_size=9))
