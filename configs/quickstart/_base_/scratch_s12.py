# PoolFormer-S12 trained from scratch, as the detection and segmentation quickstarts use it (no download): layer
# scales start at 0.1 instead of 1e-5 so the blocks contribute from the start. mmengine does not let two bases set
# the same key, so the quickstarts take it as a value: model = dict(backbone={{_base_.scratch_s12}}, ...).
scratch_s12 = dict(init_cfg=None, arch=dict(_delete_=True, depths=[2, 2, 6, 2], embed_dims=[64, 128, 320, 512],
                                            layer_scale_init_value=0.1))
