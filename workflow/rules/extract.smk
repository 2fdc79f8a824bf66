# GPU stages: one job per shard loads its model once and writes one Zarr store (manifest last).
# Their params hold only what changes the tensors, so method settings never rerun them.


rule extract_sd_attention:
    input:
        index=paths.INDEX,
        gt=paths.GT,
    output:
        store=directory(paths.cache("sd_sa")),
    params:
        extraction=get_sd_attention_params,
    threads: 2
    resources:
        gpu=get_extraction_gpus,
    log:
        "logs/extract_sd_attention/{dataset}/{split}/{shard}.log",
    benchmark:
        "logs/benchmarks/extract_sd_attention/{dataset}/{split}/{shard}.tsv"
    conda:
        "../envs/langseg.yaml"
    script:
        "../scripts/extract.py"


rule extract_sd_gt:
    input:
        index=paths.INDEX,
        gt=paths.GT,
    output:
        store=directory(paths.cache("sd_gt")),
    params:
        extraction=get_sd_gt_params,
    threads: 2
    resources:
        gpu=get_extraction_gpus,
    log:
        "logs/extract_sd_gt/{dataset}/{split}/{shard}.log",
    benchmark:
        "logs/benchmarks/extract_sd_gt/{dataset}/{split}/{shard}.tsv"
    conda:
        "../envs/langseg.yaml"
    script:
        "../scripts/extract.py"


rule extract_gem:
    input:
        index=paths.INDEX,
        gt=paths.GT,
    output:
        store=directory(paths.cache("gem")),
    params:
        extraction=get_gem_params,
    threads: 2
    resources:
        gpu=get_extraction_gpus,
    log:
        "logs/extract_gem/{dataset}/{split}/{shard}.log",
    benchmark:
        "logs/benchmarks/extract_gem/{dataset}/{split}/{shard}.tsv"
    conda:
        "../envs/langseg.yaml"
    script:
        "../scripts/extract.py"
