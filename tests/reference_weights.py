"""Random PoolFormer weights in mmpretrain's module, and files written in each accepted key layout.

The reference model is mmpretrain's PoolFormer (an implementation independent of ours). Its weights are perturbed so
that no error can hide: layer scales around 0.5 (instead of 1e-5), norm affines away from 1/0.
"""
import torch
from mmengine.registry import DefaultScope
from mmpretrain.models.backbones import PoolFormer as MMPretrainPoolFormer

from mmpoolformer_lab.benchmark.synthetic_weights import perturb

OFFICIAL_OUT_NORMS = (0, 2, 4, 6)
# Facts of the original release, written here once for the tests, independently of the toolbox's own tables: where
# its ImageNet files are, and the channels of each arch's four stages (paper Table 1).
OFFICIAL_RELEASE = 'https://github.com/sail-sg/poolformer/releases/download/v1.0/'
OFFICIAL_DIMS = {'s12': [64, 128, 320, 512], 's24': [64, 128, 320, 512], 's36': [64, 128, 320, 512],
                 'm36': [96, 192, 384, 768], 'm48': [96, 192, 384, 768]}


def randomised_reference(arch: str, seed: int = 0) -> MMPretrainPoolFormer:
    torch.manual_seed(seed)
    ref = MMPretrainPoolFormer(arch=arch, out_indices=OFFICIAL_OUT_NORMS, frozen_stages=-1)
    ref.arch_name = arch
    ref.embed_dims = MMPretrainPoolFormer.arch_settings[arch]['embed_dims']
    perturb(ref)
    ref.eval()  # (mmpretrain's train() returns None, so no chaining)
    return ref


def reset_out_norms(ref: MMPretrainPoolFormer) -> None:
    """Give the reference's stage-output norms the fresh affine (1, 0) that an ImageNet file leaves in our model."""
    with torch.no_grad():
        for i in OFFICIAL_OUT_NORMS:
            norm = getattr(ref, f'norm{i}')
            norm.weight.fill_(1)
            norm.bias.fill_(0)


def backbone_state(ref) -> dict:
    return {k: v.clone() for k, v in ref.state_dict().items()}


def classifier_tensors(dim: int, prefix: str = '') -> dict:
    return {f'{prefix}norm.weight': torch.rand(dim), f'{prefix}norm.bias': torch.rand(dim),
            f'{prefix}head.weight': torch.randn(1000, dim), f'{prefix}head.bias': torch.randn(1000)}


def official_imagenet_file(ref, path) -> None:
    """(a) official ImageNet release: plain state dict, no stage-output norms, classifier norm + head."""
    state = {k: v for k, v in backbone_state(ref).items() if not k.startswith('norm')}
    state.update(classifier_tensors(ref.embed_dims[-1]))
    torch.save(state, path)


def official_detector_file(ref, path) -> None:
    """(b) official mmdet 2.19 detector: 'backbone.' prefix, norm0/2/4/6, neck + head keys, mmcv-style meta."""
    state = {'backbone.' + k: v for k, v in backbone_state(ref).items()}
    state['neck.lateral_convs.0.conv.weight'] = torch.randn(256, ref.embed_dims[0], 1, 1)
    state['bbox_head.retina_cls.weight'] = torch.randn(720, 256, 3, 3)
    meta = dict(mmcv_version='1.4.0', mmdet_version='2.19.0', config='model = dict(...)', CLASSES=('person', 'car'),
                epoch=12, iter=87960)
    torch.save(dict(meta=meta, state_dict=state), path)


def timm_file(ref, path) -> None:
    """(c) timm poolformer_*: the reference weights renamed by timm's own official->timm filter."""
    import timm
    from timm.models.metaformer import checkpoint_filter_fn
    model = timm.create_model(f'poolformer_{ref.arch_name}', pretrained=False)
    official = {k: v for k, v in backbone_state(ref).items() if not k.startswith('norm')}
    official.update(classifier_tensors(ref.embed_dims[-1]))
    timm_state = checkpoint_filter_fn(official, model)
    model.load_state_dict(timm_state)  # strict: proves the file is exactly timm's layout
    torch.save(model.state_dict(), path)


def mmpretrain_file(ref, path) -> None:
    """(d) mmpretrain ImageClassifier checkpoint: 'backbone.' prefix, network.*, norm6, head.fc.*."""
    state = {'backbone.' + k: v for k, v in backbone_state(ref).items()}
    dim = ref.embed_dims[-1]
    state.update({'head.fc.weight': torch.randn(1000, dim), 'head.fc.bias': torch.randn(1000)})
    meta = dict(mmengine_version='0.10.7', dataset_meta=dict(classes=['a', 'b']), epoch=300)
    torch.save(dict(meta=meta, state_dict=state), path)


WRITERS = {'official_imagenet': official_imagenet_file, 'official_detector': official_detector_file,
           'timm': timm_file, 'mmpretrain': mmpretrain_file}


def mmpretrain_reference():
    """MMPretrain's own PoolFormer-S12 ImageNet classifier (its PoolFormer backbone: final GroupNorm on the last
    stage, then GAP and LinearClsHead) with perturbed random weights."""
    import mmpretrain.models  # noqa: F401
    from mmpretrain.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        ref = MODELS.build(dict(type='ImageClassifier', backbone=dict(type='PoolFormer', arch='s12'),
                                neck=dict(type='GlobalAveragePooling'),
                                head=dict(type='LinearClsHead', num_classes=1000, in_channels=512)))
    ref.backbone.load_state_dict(randomised_reference('s12').state_dict(), strict=False)
    torch.manual_seed(1)
    with torch.no_grad():
        ref.backbone.norm6.weight.uniform_(0.5, 1.5)
        ref.backbone.norm6.bias.normal_()
        ref.head.fc.weight.normal_(0, 0.05)
        ref.head.fc.bias.normal_()
    return ref.eval()


def official_imagenet_state(ref) -> dict:
    """The official poolformer_s12.pth.tar layout: network.*, classifier norm.* and head.*."""
    state = {}
    for key, value in ref.state_dict().items():
        key = key.replace('backbone.norm6.', 'norm.').replace('head.fc.', 'head.').replace('backbone.', '')
        state[key] = value.clone()
    return state


def timm_state(official: dict):
    """timm's poolformer_s12 loaded (strictly) with the official tensors through timm's own filter."""
    import timm
    from timm.models.metaformer import checkpoint_filter_fn
    model = timm.create_model('poolformer_s12', pretrained=False)
    model.load_state_dict(checkpoint_filter_fn(dict(official), model))
    return model.eval()
