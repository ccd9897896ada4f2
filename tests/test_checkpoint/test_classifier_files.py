"""ImageNet files (official, timm, MMPretrain) load into the whole MMPretrain classifier with the logits of
MMPretrain's own model; timm's model differs only in its head order, and the timm-head config gives timm's logits."""
import pytest
import torch
import torch.nn.functional as F

from mmpoolformer.apis import init_model
from mmpoolformer.checkpoint import to_model_layout
from tests.helpers import ROOT, build_model, config_in_repo


@pytest.fixture(scope='module')
def image():
    return torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(2))


@pytest.mark.parametrize('layout', ['official', 'timm', 'mmpretrain'])
def test_imagenet_file_loads_into_whole_classifier(layout, reference, image):
    ref, official, timm_model = reference
    file_state = {'official': official, 'timm': timm_model.state_dict(),
                  'mmpretrain': {k: v.clone() for k, v in ref.state_dict().items()}}[layout]
    model = build_model(config_in_repo('configs/classification/poolformer_s12_in1k.py')).eval()
    state = to_model_layout(dict(state_dict=file_state))['state_dict']
    model.load_state_dict(state, strict=True)  # backbone, final norm (out_norms.3) and head.fc, nothing else
    with torch.no_grad():
        ours, theirs = model(image, mode='tensor'), ref(image, mode='tensor')
    assert (ours - theirs).abs().max().item() <= 1e-5


def test_timm_poolformer_differs_only_in_its_head_order(reference, image):
    """timm's poolformer_s12 computes the same last-stage features, but its head pools first and then normalises
    the pooled vector (LayerNorm, eps 1e-6) where the official model normalises the map (GroupNorm) and then pools:
    with the same tensors (ours loaded from timm's file) timm's head order gives timm's logits, the official order
    different ones."""
    _, _, timm_model = reference
    model = build_model(config_in_repo('configs/classification/poolformer_s12_in1k.py')).eval()
    model.load_state_dict(to_model_layout(dict(state_dict=timm_model.state_dict()))['state_dict'], strict=True)
    norm, fc = model.backbone.out_norms['3'], model.head.fc
    with torch.no_grad():
        features = model.backbone.stem(image)
        for stage in model.backbone.stages:
            features = stage(features)
        assert (features - timm_model.forward_features(image)).abs().max().item() <= 1e-5
        timm_order = fc(F.layer_norm(features.mean((-2, -1)), (512,), norm.weight, norm.bias, 1e-6))
        timm_logits = timm_model(image)
        assert (timm_order - timm_logits).abs().max().item() <= 1e-5
        assert (model(image, mode='tensor') - timm_logits).abs().max().item() > 1e-3


@pytest.mark.parametrize('layout', ['official', 'timm'])
def test_timm_head_config_gives_timm_logits(layout, reference, image, tmp_path):
    """The same file in the timm-head config gives timm's logits: loaded as the tools load a model to test (every
    tensor fitting both ways, the final norm into neck.norm)."""
    _, official, timm_model = reference
    file_state = official if layout == 'official' else timm_model.state_dict()
    path = tmp_path / f'{layout}.pth.tar'
    torch.save(file_state, path)
    model, _ = init_model(f'{ROOT}/configs/classification/poolformer_s12_in1k_timm_head.py', str(path))
    final_norm = file_state['norm.weight' if layout == 'official' else 'head.norm.weight']
    assert torch.equal(model.neck.norm.weight, final_norm) and not model.backbone.out_norms
    with torch.no_grad():
        assert (model(image, mode='tensor') - timm_model(image)).abs().max().item() <= 1e-5
