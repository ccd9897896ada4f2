# PoolFormer-S24 ImageNet-1K classifier, the official recipe of poolformer_s12_in1k.py with drop path 0.1
# (paper Table 2: 80.3 top-1, 21.4 M params, 3.4 G MACs). Test: crop_pct 0.9 as S12.
_base_ = ['./poolformer_s12_in1k.py']

model = dict(backbone=dict(arch='s24', drop_path_rate=0.1), head=dict(in_channels=512))
