# Official MetaFormer ablation metaformer_pppf_s12_224: pooling in stages 1-3, a spatial fully-connected mixer over the
# 7x7 tokens of stage 4 (224 px input only), GroupNorm with one group. Loads metaformer_pppf_s12_224.pth.tar from
# the original release. Test crop_pct 0.9.
_base_ = ['./poolformer_s12_in1k.py']

model = dict(backbone=dict(
    _delete_=True, type='mmpoolformer.MetaFormer', arch='s12', drop_path_rate=0.1, out_indices=(3,),
    token_mixers=[dict(type='Pooling'), dict(type='Pooling'), dict(type='Pooling'),
                  dict(type='SpatialFC', spatial_shape=(7, 7))]))
