# The standard (SCLIP-lineage) protocol: index, per-shard inference with every method,
# IoUMetric per backend, and the eight-benchmark table (see docs/protocol.md).

STD_NAMES = "|".join(STANDARD.dataset_names) or "^$"


rule standard_make_demo:
    output:
        root=directory("resources/{std_dataset}/VOC2012"),
    log:
        "logs/standard_make_demo/{std_dataset}.log",
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
        index="results/standard/{std_dataset}/{split}/index.tsv",
    log:
        "logs/standard_index/{std_dataset}/{split}.log",
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
        index="results/standard/{std_dataset}/{split}/index.tsv",
        class_file=get_standard_class_file,
    output:
        counts="results/standard/{std_dataset}/{split}/counts/{backend}/{shard}.npz",
    log:
        "logs/standard_segment/{std_dataset}/{split}/{backend}/{shard}.log",
    benchmark:
        "logs/benchmarks/standard_segment/{std_dataset}/{split}/{backend}/{shard}.tsv"
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
        scores="results/standard/{std_dataset}/{split}/eval/{backend}.json",
    log:
        "logs/standard_evaluate/{std_dataset}/{split}/{backend}.log",
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
        csv="results/tables/standard_benchmark.csv",
        markdown="results/tables/standard_benchmark.md",
        latex="results/tables/standard_benchmark.tex",
    log:
        "logs/standard_table/standard_table.log",
    conda:
        "../envs/langseg.yaml"
    params:
        table=get_standard_table_params,
    script:
        "../scripts/standard_table.py"
