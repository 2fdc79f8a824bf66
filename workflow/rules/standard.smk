# The standard (SCLIP-lineage) protocol: index, per-shard inference with every method,
# IoUMetric per backend, and the eight-benchmark table (see docs/protocol.md).

STD_NAMES = "|".join(STANDARD.dataset_names) or "^$"


rule standard_make_demo:
    output:
        root=directory("resources/{std_dataset}/VOC2012"),
    wildcard_constraints:
        std_dataset=STD_NAMES,
    log:
        "logs/standard_make_demo/{std_dataset}.log",
    conda:
        "../envs/langseg.yaml"
    script:
        "../scripts/make_demo.py"


rule standard_index:
    input:
        demo=get_standard_demo_root,
    output:
        index="results/standard/{std_dataset}/{split}/index.tsv",
    params:
        dataset=get_standard_index_params,
    wildcard_constraints:
        std_dataset=STD_NAMES,
    log:
        "logs/standard_index/{std_dataset}/{split}.log",
    conda:
        "../envs/langseg.yaml"
    script:
        "../scripts/standard_index.py"


rule standard_segment:
    input:
        index="results/standard/{std_dataset}/{split}/index.tsv",
        class_file=get_standard_class_file,
    output:
        counts="results/standard/{std_dataset}/{split}/counts/{backend}/{shard}.npz",
    params:
        segment=get_standard_segment_params,
    wildcard_constraints:
        std_dataset=STD_NAMES,
        backend="[a-z0-9_]+",
    threads: 2
    resources:
        gpu=1,
    log:
        "logs/standard_segment/{std_dataset}/{split}/{backend}/{shard}.log",
    benchmark:
        "logs/benchmarks/standard_segment/{std_dataset}/{split}/{backend}/{shard}.tsv"
    conda:
        "../envs/langseg.yaml"
    script:
        "../scripts/standard_segment.py"


rule standard_evaluate:
    input:
        counts=get_standard_counts,
    output:
        scores="results/standard/{std_dataset}/{split}/eval/{backend}.json",
    params:
        evaluation=get_standard_evaluate_params,
    wildcard_constraints:
        std_dataset=STD_NAMES,
        backend="[a-z0-9_]+",
    log:
        "logs/standard_evaluate/{std_dataset}/{split}/{backend}.log",
    conda:
        "../envs/langseg.yaml"
    script:
        "../scripts/standard_evaluate.py"


rule standard_table:
    input:
        scores=get_standard_evaluations,
    output:
        csv="results/tables/standard_benchmark.csv",
        markdown="results/tables/standard_benchmark.md",
        latex="results/tables/standard_benchmark.tex",
    params:
        table=get_standard_table_params,
    log:
        "logs/standard_table/standard_table.log",
    conda:
        "../envs/langseg.yaml"
    script:
        "../scripts/standard_table.py"
