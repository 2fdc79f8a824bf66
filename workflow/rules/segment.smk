# CPU stage: one job per method and shard; every method setting arrives here as params.


rule segment:
    input:
        unpack(get_segment_caches),
        gt=paths.GT,
    output:
        pred=paths.PRED,
    log:
        "logs/segment/{dataset}/{split}/{method}/{shard}.log",
    benchmark:
        "logs/benchmarks/segment/{dataset}/{split}/{method}/{shard}.tsv"
    conda:
        "../envs/langseg.yaml"
    params:
        segment=get_segment_params,
    script:
        "../scripts/segment.py"
