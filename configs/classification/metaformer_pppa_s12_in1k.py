# Official MetaFormer ablation metaformer_pppa_s12_224: pooling in stages 1-3, attention in stage 4 (head_dim 32, qkv
# without bias, output projection with bias) after a learned 7x7 position embedding, LayerNorm over channels in every
# block and before the head (the official MetaFormer default). Loads metaformer_pppa_s12_224.pth.tar from the
# original release. Test crop_pct 0.95 (its official default).
_base_ = ['./poolformer_s12_in1k.py']

attention = dict(type='Attention', head_dim=32, qkv_bias=False, proj_bias=True)
model = dict(backbone=dict(
    _delete_=True, type='mmpoolformer.MetaFormer', arch='s12', drop_path_rate=0.1, out_indices=(3,),
    token_mixers=[dict(type='Pooling'), dict(type='Pooling'), dict(type='Pooling'), attention],
    pos_embed_sizes=[None, None, None, (7, 7)], norm_cfg=dict(type='LayerNorm2d')))
val_dataloader = dict(dataset=dict(pipeline={{_base_.test_pipeline_crop_pct_095}}))
test_dataloader = val_dataloader
