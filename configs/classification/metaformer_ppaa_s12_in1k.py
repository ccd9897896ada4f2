# Official MetaFormer ablation metaformer_ppaa_s12_224, the paper's hybrid [Pool, Pool, Attention, Attention] (Table
# 5: 81.0 top-1, 16.5 M params, 2.5 G MACs): attention in stages 3-4 (head_dim 32, qkv without bias, output
# projection with bias), a learned 14x14 position embedding before stage 3, LayerNorm over channels in every block
# and before the head. Loads metaformer_ppaa_s12_224.pth.tar from the original release. Test crop_pct 0.95.
_base_ = ['./metaformer_pppa_s12_in1k.py']

model = dict(backbone=dict(token_mixers=[dict(type='Pooling'), dict(type='Pooling'), {{_base_.attention}},
                                         {{_base_.attention}}],
                           pos_embed_sizes=[None, None, (14, 14), None]))
