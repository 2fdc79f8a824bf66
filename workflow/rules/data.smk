# Datasets: the generated demo, the index of every split, and the ground truth per shard.


rule make_demo:
    output:
        root=directory(paths.demo_root()),
    log:
        paths.log("make_demo", "{dataset}"),
    conda:
        "../envs/langseg.yaml"
    script:
        "../scripts/make_demo.py"


rule index_dataset:
    input:
        demo=get_demo_root,
    output:
        index=paths.index(),
    log:
        paths.log("index_dataset", "{dataset}/{split}"),
    conda:
        "../envs/langseg.yaml"
    params:
        dataset=get_index_params,
    script:
        "../scripts/index_dataset.py"


rule prepare_gt:
    input:
        index=paths.index(),
    output:
        gt=paths.gt(),
    log:
        paths.log("prepare_gt", "{dataset}/{split}/{shard}"),
    conda:
        "../envs/langseg.yaml"
    params:
        gt=get_gt_params,
    script:
        "../scripts/prepare_gt.py"
