# CPU stage: one job per method and shard; every method setting arrives here as params.


rule segment:
    input:
        unpack(get_segment_caches),
        gt="results/{dataset}/{split}/gt/{shard}.npz",
    output:
        pred="results/{dataset}/{split}/pred/{method}/{shard}.npz",
    params:
        segment=get_segment_params,
    log:
        "logs/segment/{dataset}/{split}/{method}/{shard}.log",
    benchmark:
        "logs/benchmarks/segment/{dataset}/{split}/{method}/{shard}.tsv"
    conda:
        "../envs/langseg.yaml"
    script:
        "../scripts/segment.py"
