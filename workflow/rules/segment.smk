# CPU stage: one job per method and shard; every method setting arrives here as params.


rule segment:
    input:
        unpack(get_segment_caches),
        gt=paths.gt(),
    output:
        pred=paths.pred(),
    log:
        paths.log("segment", "{dataset}/{split}/{method}/{shard}"),
    benchmark:
        paths.benchmark("segment", "{dataset}/{split}/{method}/{shard}")
    conda:
        "../envs/langseg.yaml"
    params:
        segment=get_segment_params,
    script:
        "../scripts/segment.py"
