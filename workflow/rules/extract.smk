# GPU stages: one job per shard loads its model once and writes one Zarr store (manifest last).
# Their params hold only what changes the tensors (weights identity, settings, SA codec, code
# digest, the identity of the shard's image files), so method settings never rerun them. Only
# extract_sd_gt reads the ground truth (its prompt names the image's classes).


rule extract_sd_attention:
    input:
        index=paths.INDEX,
    output:
        store=directory(paths.cache("sd_sa")),
    log:
        "logs/extract_sd_attention/{dataset}/{split}/{shard}.log",
    benchmark:
        "logs/benchmarks/extract_sd_attention/{dataset}/{split}/{shard}.tsv"
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
        index=paths.INDEX,
        gt=paths.GT,
    output:
        store=directory(paths.cache("sd_gt")),
    log:
        "logs/extract_sd_gt/{dataset}/{split}/{shard}.log",
    benchmark:
        "logs/benchmarks/extract_sd_gt/{dataset}/{split}/{shard}.tsv"
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
        index=paths.INDEX,
    output:
        store=directory(paths.cache("gem")),
    log:
        "logs/extract_gem/{dataset}/{split}/{shard}.log",
    benchmark:
        "logs/benchmarks/extract_gem/{dataset}/{split}/{shard}.tsv"
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
        index="results/{dataset}/{split}/index.tsv",
    output:
        store=directory("results/cache/{dataset}/{split}/{backend}/{shard}.zarr"),
    log:
        "logs/extract_backend/{dataset}/{split}/{backend}/{shard}.log",
    benchmark:
        "logs/benchmarks/extract_backend/{dataset}/{split}/{backend}/{shard}.tsv"
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
        index="results/{dataset}/{split}/index.tsv",
        gt="results/{dataset}/{split}/gt/{shard}.npz",
        clip="results/cache/{dataset}/{split}/{backend}/{shard}.zarr",
    output:
        store=directory("results/cache/{dataset}/{split}/sd_zs/{backend}/{shard}.zarr"),
    log:
        "logs/extract_sd_zs/{dataset}/{split}/{backend}/{shard}.log",
    benchmark:
        "logs/benchmarks/extract_sd_zs/{dataset}/{split}/{backend}/{shard}.tsv"
    conda:
        "../envs/langseg.yaml"
    threads: 2
    resources:
        gpu=get_extraction_gpus,
    params:
        extraction=get_sd_zs_params,
    script:
        "../scripts/extract.py"
