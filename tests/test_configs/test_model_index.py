"""model-index.yml and the metafiles: every config indexed once, every indexed path real, weights URLs consistent."""
import glob
import os
import re

import yaml
from mmengine.config import Config

from tests.helpers import ROOT, config_in_repo
from tests.reference_weights import OFFICIAL_RELEASE

BASELINE_RELEASE = 'https://huggingface.co/sail/dl/resolve/main/'  # sail-sg/metaformer's files


def indexed_models():
    with open(os.path.join(ROOT, 'model-index.yml')) as f:
        imports = yaml.safe_load(f)['Import']
    models = []
    for metafile in imports:
        assert os.path.isfile(os.path.join(ROOT, metafile)), f'model-index.yml imports {metafile}, which is missing'
        with open(os.path.join(ROOT, metafile)) as f:
            doc = yaml.safe_load(f)
        collections = {c['Name'] for c in doc['Collections']}
        for model in doc['Models']:
            assert model['In Collection'] in collections, (metafile, model['Name'])
            models.append(model)
    return models


def test_every_config_is_indexed_once_and_every_indexed_config_exists():
    models = indexed_models()
    paths = [m['Config'] for m in models]
    configs = sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, 'configs', '**', '*.py'),
                                                                  recursive=True) if '/_base_/' not in p)
    assert sorted(paths) == configs  # each config once, nothing that does not exist
    for model in models:
        assert model['Name'] == os.path.splitext(os.path.basename(model['Config']))[0]
    assert len({m['Name'] for m in models}) == len(models)


def test_weights_urls_match_the_configs_and_the_release():
    for model in indexed_models():
        backbone = model['Metadata'].get('Backbone Weights')
        init_cfg = config_in_repo(model['Config']).model.backbone.get('init_cfg') or {}
        if init_cfg.get('checkpoint'):  # the config starts from an ImageNet file: the index names the same
            assert init_cfg.checkpoint == backbone, (model['Name'], init_cfg.checkpoint, backbone)
        baseline = re.search(r'(caformer|convformer|poolformerv2|identityformer|randformer)_', model['Name'])
        if backbone and baseline:
            family = baseline.group(1)
            assert re.fullmatch(re.escape(BASELINE_RELEASE) + family + '/' + family + r'_[smb]\d\d\.pth', backbone)
        elif backbone:
            assert backbone.startswith(OFFICIAL_RELEASE) and backbone.endswith('.pth.tar')
        weights = model['Weights']
        if model['Config'].startswith('configs/classification/') and baseline:  # the official file of that model
            family = baseline.group(1)
            assert weights == f"{BASELINE_RELEASE}{family}/{model['Name'][:-len('_in1k')]}.pth", weights
        elif model['Config'].startswith('configs/classification/'):  # the official ImageNet files are the classifiers
            assert re.fullmatch(re.escape(OFFICIAL_RELEASE) +
                                r'(poolformer_[sm]\d\d|metaformer_\w+_s12(_224)?)\.pth\.tar',
                                weights), weights
        else:
            assert weights is None  # no trained detector/segmentor file is released by this project


def test_the_paper_results_are_indexed():
    results = {m['Name']: {k: v for r in m.get('Results', []) for k, v in r['Metrics'].items()}
               for m in indexed_models()}
    assert results['retinanet_poolformer_s12_fpn_coco'] == {'box AP': 36.2}
    assert results['mask_rcnn_poolformer_s36_fpn_coco'] == {'box AP': 41.0, 'mask AP': 37.7}
    assert results['fpn_poolformer_m48_ade20k_40k'] == {'mIoU': 42.7}
    assert [results[f'poolformer_{a}_in1k']['Top 1 Accuracy'] for a in ('s12', 's24', 's36', 'm36', 'm48')] == \
        [77.2, 80.3, 81.4, 82.1, 82.5]
    for family in ('retinanet', 'mask_rcnn', 'fpn'):
        main = [n for n in results if n.startswith(family + '_poolformer_') and not n.endswith('_demo')]
        assert main and all(results[n] for n in main), family


def test_release_urls_are_written_once():
    """Configs name the release files through configs/_base_/release_weights.py, which alone spells the URL."""
    holders = [os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, 'configs', '**', '*.py'), recursive=True)
               if 'github.com/sail-sg/poolformer/releases' in open(p).read()]
    assert holders == ['configs/_base_/release_weights.py']
    weights = Config.fromfile(os.path.join(ROOT, holders[0])).release_weights
    assert weights['poolformer_m48'] == OFFICIAL_RELEASE + 'poolformer_m48.pth.tar' and len(weights) == 10


def test_baseline_urls_are_written_once():
    """The MetaFormer baselines' files are named through configs/_base_/baseline_weights.py alone: every published
    model's 224 file and the ConvFormer/CAFormer variants."""
    holders = [os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, 'configs', '**', '*.py'), recursive=True)
               if 'huggingface.co/sail' in open(p).read()]
    assert holders == ['configs/_base_/baseline_weights.py']
    weights = Config.fromfile(os.path.join(ROOT, holders[0])).baseline_weights
    assert weights['caformer_b36_384_in21ft1k'] == BASELINE_RELEASE + 'caformer/caformer_b36_384_in21ft1k.pth'
    assert weights['randformer_m48'] == BASELINE_RELEASE + 'randformer/randformer_m48.pth'
    assert len(weights) == 2 * 4 * 5 + 3 * 5
