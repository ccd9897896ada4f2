# The ImageNet weights of the original release (sail-sg/poolformer v1.0), written once: every dense-prediction and
# ablation config starts its backbone from one of them, as {{_base_.release_weights.NAME}}.
release_weights = {
    name: f'https://github.com/sail-sg/poolformer/releases/download/v1.0/{name}.pth.tar'
    for name in ('poolformer_s12', 'poolformer_s24', 'poolformer_s36', 'poolformer_m36', 'poolformer_m48',
                 'metaformer_id_s12', 'metaformer_pppa_s12_224', 'metaformer_ppaa_s12_224', 'metaformer_pppf_s12_224',
                 'metaformer_ppff_s12_224')
}
