# CPU stage: one dataset-level confusion matrix per dataset, split and method.


rule evaluate:
    input:
        gt=get_shard_files("results/{dataset}/{split}/gt/{shard}.npz"),
        pred=get_shard_files("results/{dataset}/{split}/pred/{method}/{shard}.npz"),
    output:
        scores="results/{dataset}/{split}/eval/{method}.json",
    params:
        evaluation=get_evaluate_params,
    log:
        "logs/evaluate/{dataset}/{split}/{method}.log",
    conda:
        "../envs/langseg.yaml"
    script:
        "../scripts/evaluate.py"
