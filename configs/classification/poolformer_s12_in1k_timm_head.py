# PoolFormer-S12 ImageNet-1K classifier with timm's head order: global average pooling first, then a LayerNorm of the
# pooled vector (eps 1e-6), then the linear layer, as timm's poolformer_s12 computes. The official model (and
# poolformer_s12_in1k.py) norms the last stage's map and then pools, so the same ImageNet file gives other logits
# there. Use this config for weights trained or fine-tuned with timm; official and timm files load into it whole
# (their final norm into neck.norm). Everything else is poolformer_s12_in1k.py.
_base_ = ['./poolformer_s12_in1k.py']

model = dict(
    backbone=dict(norm_outputs=False),
    neck=dict(_delete_=True, type='mmpoolformer.GlobalPoolNorm', in_channels=512, eps=1e-6))
