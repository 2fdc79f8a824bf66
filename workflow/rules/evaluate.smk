# CPU stage: one dataset-level confusion matrix per dataset, split and method.


rule evaluate:
    input:
        gt=get_shard_files(paths.GT),
        pred=get_shard_files(paths.PRED),
    output:
        scores=paths.EVAL,
    params:
        evaluation=get_evaluate_params,
    log:
        "logs/evaluate/{dataset}/{split}/{method}.log",
    conda:
        "../envs/langseg.yaml"
    script:
        "../scripts/evaluate.py"
