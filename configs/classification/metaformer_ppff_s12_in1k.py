# Official MetaFormer ablation metaformer_ppff_s12_224: pooling in stages 1-2, spatial fully-connected mixers over the
# 14x14 tokens of stage 3 and the 7x7 of stage 4 (224 px input only), GroupNorm with one group. Loads
# metaformer_ppff_s12_224.pth.tar from the original release. Test crop_pct 0.95 (its official default).
_base_ = ['./poolformer_s12_in1k.py']

model = dict(backbone=dict(
    _delete_=True, type='mmpoolformer.MetaFormer', arch='s12', drop_path_rate=0.1, out_indices=(3,),
    token_mixers=[dict(type='Pooling'), dict(type='Pooling'), dict(type='SpatialFC', spatial_shape=(14, 14)),
                  dict(type='SpatialFC', spatial_shape=(7, 7))]))
val_dataloader = dict(dataset=dict(pipeline={{_base_.test_pipeline_crop_pct_095}}))
test_dataloader = val_dataloader
