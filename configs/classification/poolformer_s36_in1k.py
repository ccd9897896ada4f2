# PoolFormer-S36 ImageNet-1K classifier, the official recipe of poolformer_s12_in1k.py with drop path 0.2
# (paper Table 2: 81.4 top-1, 30.9 M params, 5.0 G MACs). Test: crop_pct 0.9 as S12.
_base_ = ['./poolformer_s12_in1k.py']

model = dict(backbone=dict(arch='s36', drop_path_rate=0.2), head=dict(in_channels=512))
