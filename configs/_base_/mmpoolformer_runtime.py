# The runtime of every mmpoolformer config, declared here so that MMDetection's / MMSegmentation's / MMPretrain's own
# tools/train.py and tools/test.py, `mim train/test` and this project's tools run the same one (they all build
# `runner_type` after `custom_imports`):
# - SafeRunner: checkpoints that torch.load(weights_only=True) and every OpenMMLab loader open, written completely or
#   not at all (old ones removed only after the new one is complete), data paths checked before each loop, an empty
#   prediction set scored as mAP 0.000 (see mmpoolformer/engine/runner.py);
# - NonFiniteLossHook: a NaN/inf loss stops training before it reaches the weights;
# - RandomStateHook: --resume sets the random generators back, so a resumed run augments as an uninterrupted one;
# - FastInferenceHook: testing with the config's `fast_inference` dict (None: plain eager), e.g.
#   --cfg-options fast_inference.compile=True.
# A config that sets its own custom_hooks replaces this list: keep these three in it.
custom_imports = dict(imports=['mmpoolformer'], allow_failed_imports=False)
runner_type = 'mmpoolformer.SafeRunner'
custom_hooks = [
    dict(type='mmpoolformer.NonFiniteLossHook'),
    dict(type='mmpoolformer.RandomStateHook'),
    dict(type='mmpoolformer.FastInferenceHook'),
]
fast_inference = None
skip_unreadable_images = False  # True: skip missing/undecodable training images with a warning naming each
