# PoolFormer-M48 ImageNet-1K classifier, the official recipe of poolformer_s12_in1k.py with drop path 0.4
# (paper Table 2: 82.5 top-1, 73.5 M params, 11.6 G MACs).
# Test: crop_pct 0.95, i.e. the short side resized to floor(224 / 0.95) = 235.
_base_ = ['./poolformer_s12_in1k.py']

model = dict(backbone=dict(arch='m48', drop_path_rate=0.4), head=dict(in_channels=768))
val_dataloader = dict(dataset=dict(pipeline={{_base_.test_pipeline_crop_pct_095}}))
test_dataloader = val_dataloader
