"""The official MetaFormer ablation variants: files with the official key names and shapes load into the
classification configs with no missing or unexpected key and give the logits of an independent re-computation;
Params as in the paper; the attention hybrids serve as detection backbones."""
import pytest
import torch
import torch.nn.functional as F

from mmpoolformer import MetaFormer
from mmpoolformer.checkpoint import load_backbone_weights, to_model_layout
from tests.helpers import build_model, config_in_repo

DEPTHS, DIMS = [2, 2, 6, 2], [64, 128, 320, 512]


# The official definitions (sail-sg/poolformer models/metaformer.py): mixer letter per stage (i identity, p pooling,
# a attention, f spatial FC), the stage whose first block gets a position embedding, the norm of every block and
# of the head (GroupNorm with one group, or LayerNorm over channels), and this toolbox's config.
VARIANTS = {
    'metaformer_id_s12': ('iiii', None, 'gn', 'configs/classification/metaformer_id_s12_in1k.py'),
    'metaformer_pppa_s12_224': ('pppa', 3, 'ln', 'configs/classification/metaformer_pppa_s12_in1k.py'),
    'metaformer_ppaa_s12_224': ('ppaa', 2, 'ln', 'configs/classification/metaformer_ppaa_s12_in1k.py'),
    'metaformer_pppf_s12_224': ('pppf', None, 'gn', 'configs/classification/metaformer_pppf_s12_in1k.py'),
    'metaformer_ppff_s12_224': ('ppff', None, 'gn', 'configs/classification/metaformer_ppff_s12_in1k.py'),
}


def grid(stage: int) -> int:
    """Token grid side of ``stage`` for a 224 px image (strides 4, 8, 16, 32)."""
    return 224 // (4 * 2 ** stage)


def official_state(variant: str, seed: int = 0) -> dict:
    """A state dict with the official key names and shapes of ``variant``, random values of a sane scale: the
    ``network`` list holds per stage [downsample (from stage 2 on)], [position embedding], blocks."""
    mixers, pos_stage, _, _ = VARIANTS[variant]
    gen = torch.Generator().manual_seed(seed)

    def rand(*shape, scale=0.05, offset=0.):
        return torch.randn(*shape, generator=gen) * scale + offset

    state = {'patch_embed.proj.weight': rand(64, 3, 7, 7), 'patch_embed.proj.bias': rand(64)}
    index = 0
    for stage, (depth, dim) in enumerate(zip(DEPTHS, DIMS)):
        if stage > 0:
            state[f'network.{index}.proj.weight'] = rand(dim, DIMS[stage - 1], 3, 3)
            state[f'network.{index}.proj.bias'] = rand(dim)
            index += 1
        if stage == pos_stage:
            state[f'network.{index}.pos_embed'] = rand(1, dim, grid(stage), grid(stage), scale=0.5)
            index += 1
        for block in range(depth):
            p = f'network.{index}.{block}.'
            for norm in ('norm1', 'norm2'):
                state[p + f'{norm}.weight'], state[p + f'{norm}.bias'] = rand(dim, scale=0.1, offset=1.), rand(dim)
            if mixers[stage] == 'a':
                state[p + 'token_mixer.qkv.weight'] = rand(3 * dim, dim)
                state[p + 'token_mixer.proj.weight'], state[p + 'token_mixer.proj.bias'] = rand(dim, dim), rand(dim)
            elif mixers[stage] == 'f':
                state[p + 'token_mixer.fc.weight'] = rand(grid(stage) ** 2, grid(stage) ** 2, scale=0.1)
            state[p + 'mlp.fc1.weight'], state[p + 'mlp.fc1.bias'] = rand(4 * dim, dim, 1, 1), rand(4 * dim)
            state[p + 'mlp.fc2.weight'], state[p + 'mlp.fc2.bias'] = rand(dim, 4 * dim, 1, 1), rand(dim)
            state[p + 'layer_scale_1'] = rand(dim, scale=0.1, offset=0.5)
            state[p + 'layer_scale_2'] = rand(dim, scale=0.1, offset=0.5)
        index += 1
    state['norm.weight'], state['norm.bias'] = rand(512, scale=0.1, offset=1.), rand(512)
    state['head.weight'], state['head.bias'] = rand(1000, 512), rand(1000)
    return state


def official_logits(variant: str, state: dict, x: torch.Tensor) -> torch.Tensor:
    """The official network's logits recomputed from its state dict alone (plain torch functions, explicit
    attention), walking ``network`` in index order."""
    mixers, _, norm_kind, _ = VARIANTS[variant]

    def norm(t, prefix):
        if norm_kind == 'gn':
            return F.group_norm(t, 1, state[prefix + 'weight'], state[prefix + 'bias'], 1e-5)
        mean = t.mean(1, keepdim=True)
        var = (t - mean).pow(2).mean(1, keepdim=True)
        return (t - mean) / torch.sqrt(var + 1e-5) * state[prefix + 'weight'][:, None, None] + \
            state[prefix + 'bias'][:, None, None]

    def mix(t, kind, p):
        n, c, h, w = t.shape
        if kind == 'i':
            return t
        if kind == 'p':
            return F.avg_pool2d(t, 3, 1, 1, count_include_pad=False) - t
        if kind == 'f':
            return (t.reshape(n, c, h * w) @ state[p + 'fc.weight'].T).reshape(n, c, h, w)
        tokens = t.flatten(2).transpose(1, 2)
        heads = c // 32
        q, k, v = (tokens @ state[p + 'qkv.weight'].T).reshape(n, h * w, 3, heads, 32).permute(2, 0, 3, 1, 4)
        attn = ((q * 32 ** -0.5) @ k.transpose(-2, -1)).softmax(-1)
        out = (attn @ v).transpose(1, 2).reshape(n, h * w, c) @ state[p + 'proj.weight'].T + state[p + 'proj.bias']
        return out.transpose(1, 2).reshape(n, c, h, w)

    t = F.conv2d(x, state['patch_embed.proj.weight'], state['patch_embed.proj.bias'], stride=4, padding=2)
    stage = 0
    indices = sorted({int(k.split('.')[1]) for k in state if k.startswith('network.')})
    for index in indices:
        p = f'network.{index}.'
        if p + 'pos_embed' in state:
            t = t + state[p + 'pos_embed']
        elif p + 'proj.weight' in state:
            t = F.conv2d(t, state[p + 'proj.weight'], state[p + 'proj.bias'], stride=2, padding=1)
        else:
            for block in range(DEPTHS[stage]):
                b = f'{p}{block}.'
                t = t + state[b + 'layer_scale_1'][:, None, None] * mix(norm(t, b + 'norm1.'), mixers[stage],
                                                                          b + 'token_mixer.')
                hidden = F.gelu(F.conv2d(norm(t, b + 'norm2.'), state[b + 'mlp.fc1.weight'], state[b + 'mlp.fc1.bias']))
                t = t + state[b + 'layer_scale_2'][:, None, None] * F.conv2d(hidden, state[b + 'mlp.fc2.weight'],
                                                                             state[b + 'mlp.fc2.bias'])
            stage += 1
    return norm(t, 'norm.').mean((-2, -1)) @ state['head.weight'].T + state['head.bias']


@pytest.fixture(scope='module')
def image():
    return torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize('variant', sorted(VARIANTS))
def test_official_variant_file_loads_whole_classifier_with_official_logits(variant, image, tmp_path):
    state = official_state(variant)
    path = str(tmp_path / f'{variant}.pth.tar')
    torch.save(state, path)
    model = build_model(config_in_repo(VARIANTS[variant][3])).eval()
    converted = to_model_layout(torch.load(path, weights_only=True))['state_dict']
    result = model.load_state_dict(converted, strict=False)
    assert (result.missing_keys, result.unexpected_keys) == ([], [])
    assert len(converted) == len(state)
    with torch.no_grad():
        ours = model(image, mode='tensor')
        theirs = official_logits(variant, state, image)
    assert ours.shape == (2, 1000)
    err = (ours - theirs).abs().max().item()
    assert err <= 1e-5, f'max |diff| {err:.3g}'


@pytest.mark.parametrize('variant,params', [('metaformer_ppaa_s12_224', 16.5), ('metaformer_id_s12', 11.9)])
def test_parameter_count_equals_paper(variant, params):
    """Paper Table 5: the hybrid [Pool, Pool, Attention, Attention] has 16.5 M parameters, identity 11.9 M (with
    the classifier); counted from the official state dict's shapes and from the built classifier."""
    assert round(sum(v.numel() for v in official_state(variant).values()) / 1e6, 1) == params
    model = build_model(config_in_repo(VARIANTS[variant][3]))
    assert round(sum(p.numel() for p in model.parameters()) / 1e6, 1) == params


@pytest.mark.parametrize('variant', ['metaformer_pppa_s12_224', 'metaformer_ppaa_s12_224'])
def test_attention_hybrid_is_a_detection_backbone_at_two_sizes(variant, tmp_path):
    """The backbone loader takes the ImageNet file (out_norms fresh, nothing else missing) and the position embedding
    is resized bicubically to the feature size of other inputs."""
    path = str(tmp_path / 'hybrid.pth.tar')
    torch.save(official_state(variant), path)
    backbone = config_in_repo(VARIANTS[variant][3]).model.backbone
    model = MetaFormer(**{k: v for k, v in backbone.items() if k not in ('type', 'out_indices')})
    report = load_backbone_weights(model, path)
    assert report['fresh'] == [f'out_norms.{i}.{p}' for i in range(4) for p in ('bias', 'weight')]
    assert sorted(report['ignored']) == ['head.bias', 'head.weight', 'norm.bias', 'norm.weight']
    stage = VARIANTS[variant][1]
    pos = model.stages[stage].pos_embed.weight
    captured = []
    model.stages[stage].pos_embed.register_forward_hook(lambda module, args, out: captured.append((args[0], out)))
    model.eval()
    for h, w in ((256, 320), (200, 296)):
        captured.clear()
        with torch.no_grad():
            outs = model(torch.randn(1, 3, h, w, generator=torch.Generator().manual_seed(h)))
        sizes = [((h + 4 - 7) // 4 + 1, (w + 4 - 7) // 4 + 1)]
        for _ in range(3):
            sizes.append(((sizes[-1][0] - 1) // 2 + 1, (sizes[-1][1] - 1) // 2 + 1))
        assert [tuple(o.shape[-2:]) for o in outs] == sizes
        (before, after), = captured
        assert tuple(before.shape[-2:]) == sizes[stage] != tuple(pos.shape[-2:])
        resized = F.interpolate(pos, size=sizes[stage], mode='bicubic', align_corners=False)
        assert torch.allclose(after, before + resized, atol=1e-6)
