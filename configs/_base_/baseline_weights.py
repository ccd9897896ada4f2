# The ImageNet weights of "MetaFormer Baselines for Vision" (sail-sg/metaformer, hosted on the Hugging Face hub),
# written once: every baseline config names its file as {{_base_.baseline_weights.NAME}}. ConvFormer and CAFormer
# have 224 px ImageNet-1K files, 384 px fine-tuned ones (_384), ImageNet-21K pre-trained then 1K fine-tuned ones
# (_in21ft1k, _384_in21ft1k) and ImageNet-21K ones with 21841 classes (_in21k; a backbone drops the classifier).
baseline_weights = {
    f'{family}_{size}{variant}': f'https://huggingface.co/sail/dl/resolve/main/{family}/{family}_{size}{variant}.pth'
    for family, sizes, variants in (
        ('caformer', ('s18', 's36', 'm36', 'b36'), ('', '_384', '_in21ft1k', '_384_in21ft1k', '_in21k')),
        ('convformer', ('s18', 's36', 'm36', 'b36'), ('', '_384', '_in21ft1k', '_384_in21ft1k', '_in21k')),
        ('poolformerv2', ('s12', 's24', 's36', 'm36', 'm48'), ('',)),
        ('identityformer', ('s12', 's24', 's36', 'm36', 'm48'), ('',)),
        ('randformer', ('s12', 's24', 's36', 'm36', 'm48'), ('',)),
    )
    for size in sizes for variant in variants
}
