"""tools/convert_checkpoint.py and tools/reparameterize_model.py write files that load and compute the same."""
import pytest
import torch
from mmengine.config import Config

from mmpoolformer import PoolFormer
from tests import reference_weights as rw
from tests.helpers import (
    INPUT_HW,
    ROOT,
    TINY_FPN,
    assert_close,
    max_diff,
    our_features,
    randomise,
    reference_features,
    run_tool_here,
)
from tests.reference_weights import WRITERS


@pytest.fixture(scope='module')
def image():
    torch.manual_seed(1)
    return torch.randn(2, 3, *INPUT_HW)


@pytest.mark.parametrize('fmt', ['official_detector', 'timm', 'mmpretrain'])
def test_convert_checkpoint_tool_writes_our_layout(fmt, image, tmp_path):
    ref = rw.randomised_reference('s12')
    src, dst = tmp_path / f'{fmt}.pth', tmp_path / 'converted.pth'
    WRITERS[fmt](ref, str(src))
    proc = run_tool_here('tools/convert_checkpoint.py', src, dst)
    assert 'arch s12' in proc.stdout
    converted = torch.load(dst, weights_only=True)
    state = converted['state_dict']
    if fmt == 'official_detector':  # the rest of the detector is kept, the backbone renamed under backbone.
        assert 'neck.lateral_convs.0.conv.weight' in state and 'backbone.stem.weight' in state
    else:  # classifier dropped, plain backbone names
        assert 'stem.weight' in state and not any(k.startswith(('head', 'norm.')) for k in state)
    model = PoolFormer(arch='s12', init_cfg=dict(type='Pretrained', checkpoint=str(dst)))
    model.init_weights()
    expected = ref
    if fmt == 'timm':
        expected = rw.randomised_reference('s12')
        rw.reset_out_norms(expected)
    assert_close(our_features(model, image), reference_features(expected, image))


def test_folded_checkpoint_through_reparameterize_tool(tmp_path):
    """tools/reparameterize_model.py writes a file that tools can load into the deploy form of the config."""

    from mmpoolformer.apis import init_model
    config = tmp_path / 'fpn_tiny.py'
    config.write_text(TINY_FPN.format(root=ROOT))
    model, _ = init_model(str(config), fast={})
    randomise(model.backbone)
    ckpt = tmp_path / 'model.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
    out = tmp_path / 'deploy.pth'
    proc = run_tool_here('tools/reparameterize_model.py', config, ckpt, out)
    assert 'backbone folded completely' in proc.stdout
    assert set(torch.load(out, weights_only=True)) == {'meta', 'state_dict'}  # opens in every safe loader
    assert sorted(p.name for p in tmp_path.iterdir()) == ['deploy.pth', 'fpn_tiny.py', 'model.pth']  # no partial
    cfg = Config.fromfile(str(config))
    cfg.model.backbone.deploy = True
    deploy_config = tmp_path / 'fpn_tiny_deploy.py'
    cfg.dump(str(deploy_config))
    folded, _ = init_model(str(deploy_config), str(out), fast={})
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        assert max_diff([folded._forward(x)], [model._forward(x)]) <= 1e-5
