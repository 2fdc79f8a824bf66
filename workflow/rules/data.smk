# Datasets: the generated demo, the index of every split, and the ground truth per shard.


rule make_demo:
    output:
        root=directory(paths.DEMO_ROOT),
    log:
        "logs/make_demo/{dataset}.log",
    conda:
        "../envs/langseg.yaml"
    script:
        "../scripts/make_demo.py"


rule index_dataset:
    input:
        demo=get_demo_root,
    output:
        index=paths.INDEX,
    log:
        "logs/index_dataset/{dataset}/{split}.log",
    conda:
        "../envs/langseg.yaml"
    params:
        dataset=get_index_params,
    script:
        "../scripts/index_dataset.py"


rule prepare_gt:
    input:
        index=paths.INDEX,
    output:
        gt=paths.GT,
    log:
        "logs/prepare_gt/{dataset}/{split}/{shard}.log",
    conda:
        "../envs/langseg.yaml"
    params:
        gt=get_gt_params,
    script:
        "../scripts/prepare_gt.py"
