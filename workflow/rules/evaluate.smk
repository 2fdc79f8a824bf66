# CPU stage: one dataset-level confusion matrix per dataset, split and method.


rule evaluate:
    input:
        gt=get_shard_files(paths.GT),
        pred=get_shard_files(paths.PRED),
    output:
        scores=paths.EVAL,
    log:
        "logs/evaluate/{dataset}/{split}/{method}.log",
    conda:
        "../envs/langseg.yaml"
    params:
        evaluation=get_evaluate_params,
    script:
        "../scripts/evaluate.py"
