# The standard (SCLIP-lineage) protocol: index, per-shard inference with every method,
# IoUMetric per backend, and the eight-benchmark table (see docs/protocol.md).

STD_NAMES = "|".join(STANDARD.dataset_names) or "^$"


rule standard_make_demo:
    output:
        root=directory(paths.demo_root("{std_dataset}")),
    log:
        paths.log("standard_make_demo", "{std_dataset}"),
    wildcard_constraints:
        std_dataset=STD_NAMES,
    conda:
        "../envs/langseg.yaml"
    script:
        "../scripts/make_demo.py"


rule standard_index:
    input:
        demo=get_standard_demo_root,
    output:
        index=paths.standard_index(),
    log:
        paths.log("standard_index", "{std_dataset}/{split}"),
    wildcard_constraints:
        std_dataset=STD_NAMES,
    conda:
        "../envs/langseg.yaml"
    params:
        dataset=get_standard_index_params,
    script:
        "../scripts/standard_index.py"


rule standard_segment:
    input:
        index=paths.standard_index(),
        class_file=get_standard_class_file,
    output:
        counts=paths.standard_counts(),
    log:
        paths.log("standard_segment", "{std_dataset}/{split}/{backend}/{shard}"),
    benchmark:
        paths.benchmark("standard_segment", "{std_dataset}/{split}/{backend}/{shard}")
    wildcard_constraints:
        std_dataset=STD_NAMES,
        backend="[a-z0-9_]+",
    conda:
        "../envs/langseg.yaml"
    threads: 2
    resources:
        gpu=get_extraction_gpus,
    params:
        segment=get_standard_segment_params,
    script:
        "../scripts/standard_segment.py"


rule standard_evaluate:
    input:
        counts=get_standard_counts,
    output:
        scores=paths.standard_evaluation(),
    log:
        paths.log("standard_evaluate", "{std_dataset}/{split}/{backend}"),
    wildcard_constraints:
        std_dataset=STD_NAMES,
        backend="[a-z0-9_]+",
    conda:
        "../envs/langseg.yaml"
    params:
        evaluation=get_standard_evaluate_params,
    script:
        "../scripts/standard_evaluate.py"


rule standard_table:
    input:
        scores=get_standard_evaluations,
    output:
        csv=paths.table(paths.STANDARD_TABLE_STEM, "csv"),
        markdown=paths.table(paths.STANDARD_TABLE_STEM, "md"),
        latex=paths.table(paths.STANDARD_TABLE_STEM, "tex"),
    log:
        paths.log("standard_table", "standard_table"),
    conda:
        "../envs/langseg.yaml"
    params:
        table=get_standard_table_params,
    script:
        "../scripts/standard_table.py"
