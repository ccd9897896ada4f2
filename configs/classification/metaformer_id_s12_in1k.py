# Official MetaFormer ablation metaformer_id_s12: S12 with no token mixing at all (Identity), GroupNorm with one group
# (paper Table 5: 74.3 top-1). Loads metaformer_id_s12.pth.tar from the original release. Test crop_pct 0.9.
_base_ = ['./poolformer_s12_in1k.py']

model = dict(backbone=dict(_delete_=True, type='mmpoolformer.MetaFormer', arch='s12',
                           token_mixers=dict(type='Identity'), drop_path_rate=0.1, out_indices=(3,)))
