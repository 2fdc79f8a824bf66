# GPU stages: one job per shard loads its model once and writes one Zarr store (manifest last).
# Their params hold only what changes the tensors (weights identity, settings, SA codec, code
# digest, the identity of the shard's image files), so method settings never rerun them. Only
# extract_sd_gt reads the ground truth (its prompt names the image's classes).


rule extract_sd_attention:
    input:
        index=paths.index(),
    output:
        store=directory(paths.cache("sd_sa")),
    log:
        paths.log("extract_sd_attention", "{dataset}/{split}/{shard}"),
    benchmark:
        paths.benchmark("extract_sd_attention", "{dataset}/{split}/{shard}")
    conda:
        "../envs/langseg.yaml"
    threads: 2
    resources:
        gpu=get_extraction_gpus,
    params:
        extraction=get_sd_attention_params,
    script:
        "../scripts/extract.py"


rule extract_sd_gt:
    input:
        index=paths.index(),
        gt=paths.gt(),
    output:
        store=directory(paths.cache("sd_gt")),
    log:
        paths.log("extract_sd_gt", "{dataset}/{split}/{shard}"),
    benchmark:
        paths.benchmark("extract_sd_gt", "{dataset}/{split}/{shard}")
    conda:
        "../envs/langseg.yaml"
    threads: 2
    resources:
        gpu=get_extraction_gpus,
    params:
        extraction=get_sd_gt_params,
    script:
        "../scripts/extract.py"


rule extract_gem:
    input:
        index=paths.index(),
    output:
        store=directory(paths.cache("gem")),
    log:
        paths.log("extract_gem", "{dataset}/{split}/{shard}"),
    benchmark:
        paths.benchmark("extract_gem", "{dataset}/{split}/{shard}")
    conda:
        "../envs/langseg.yaml"
    threads: 2
    resources:
        gpu=get_extraction_gpus,
    params:
        extraction=get_gem_params,
    script:
        "../scripts/extract.py"


rule extract_backend:
    input:
        index=paths.index(),
    output:
        store=directory(paths.cache(paths.cache_folder("clip"))),
    log:
        paths.log("extract_backend", "{dataset}/{split}/{backend}/{shard}"),
    benchmark:
        paths.benchmark("extract_backend", "{dataset}/{split}/{backend}/{shard}")
    wildcard_constraints:
        backend="|".join(b for b in backend_names() if b != "gem"),  # gem: extract_gem
    conda:
        "../envs/langseg.yaml"
    threads: 2
    resources:
        gpu=get_extraction_gpus,
    params:
        extraction=get_backend_params,
    script:
        "../scripts/extract.py"


rule extract_sd_zs:
    input:
        index=paths.index(),
        gt=paths.gt(),
        clip=paths.cache(paths.cache_folder("clip")),
    output:
        store=directory(paths.cache(paths.cache_folder("sd_zs"))),
    log:
        paths.log("extract_sd_zs", "{dataset}/{split}/{backend}/{shard}"),
    benchmark:
        paths.benchmark("extract_sd_zs", "{dataset}/{split}/{backend}/{shard}")
    conda:
        "../envs/langseg.yaml"
    threads: 2
    resources:
        gpu=get_extraction_gpus,
    params:
        extraction=get_sd_zs_params,
    script:
        "../scripts/extract.py"
