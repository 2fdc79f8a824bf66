# CPU stage: one dataset-level confusion matrix per dataset, split and method.


rule evaluate:
    input:
        gt=get_shard_files(paths.gt()),
        pred=get_shard_files(paths.pred()),
    output:
        scores=paths.evaluation(),
    log:
        paths.log("evaluate", "{dataset}/{split}/{method}"),
    conda:
        "../envs/langseg.yaml"
    params:
        evaluation=get_evaluate_params,
    script:
        "../scripts/evaluate.py"
