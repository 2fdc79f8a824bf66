# Tables 2-4 and Figures 2-3 of the report, from every evaluation of the config.

TABLES = [
    "table2_ablation",
    "table3_multilabel",
    "table4_benchmark",
    "summary",
    *(f"class_iou_{name}" for name in PLAN.dataset_split_names()),
]


rule write_tables:
    input:
        scores=get_all_evaluations,
    output:
        table2=report(
            "results/tables/table2_ablation.csv",
            caption="../report/table2.rst",
            category="Tables",
        ),
        table3=report(
            "results/tables/table3_multilabel.csv",
            caption="../report/table3.rst",
            category="Tables",
        ),
        table4=report(
            "results/tables/table4_benchmark.csv",
            caption="../report/table4.rst",
            category="Tables",
        ),
        summary=report(
            "results/tables/summary.csv",
            caption="../report/summary.rst",
            category="Tables",
        ),
        class_iou=report(
            expand(
                "results/tables/class_iou_{name}.csv", name=PLAN.dataset_split_names()
            ),
            caption="../report/class_iou.rst",
            category="Tables",
        ),
        markdown=report(
            expand("results/tables/{table}.md", table=TABLES),
            caption="../report/table_formats.rst",
            category="Tables",
            subcategory="Markdown",
        ),
        latex=report(
            expand("results/tables/{table}.tex", table=TABLES),
            caption="../report/table_formats.rst",
            category="Tables",
            subcategory="LaTeX (booktabs)",
        ),
    log:
        "logs/write_tables/tables.log",
    conda:
        "../envs/langseg.yaml"
    params:
        report=get_report_params,
    script:
        "../scripts/write_tables.py"


rule plot_figures:
    input:
        unpack(get_figure3_inputs),
        scores=get_all_evaluations,
    output:
        figure2=report(
            "results/figures/figure2_class_iou.png",
            caption="../report/figure2.rst",
            category="Figures",
        ),
        figure3=report(
            "results/figures/figure3_qualitative.png",
            caption="../report/figure3.rst",
            category="Figures",
        ),
        figure2_pdf=report(
            "results/figures/figure2_class_iou.pdf",
            caption="../report/figure2.rst",
            category="Figures",
            subcategory="PDF",
        ),
        figure3_pdf=report(
            "results/figures/figure3_qualitative.pdf",
            caption="../report/figure3.rst",
            category="Figures",
            subcategory="PDF",
        ),
    log:
        "logs/plot_figures/figures.log",
    conda:
        "../envs/langseg.yaml"
    params:
        report=get_report_params,
    script:
        "../scripts/plot_figures.py"


rule write_backend_tables:
    input:
        scores=get_backend_evaluations,
    output:
        csv=expand(
            "results/tables/backend_{table}_{name}.csv",
            table=["miou", "scores"],
            name=PLAN.dataset_split_names(),
        ),
        markdown=expand(
            "results/tables/backend_{table}_{name}.md",
            table=["miou", "scores"],
            name=PLAN.dataset_split_names(),
        ),
        latex=expand(
            "results/tables/backend_{table}_{name}.tex",
            table=["miou", "scores"],
            name=PLAN.dataset_split_names(),
        ),
    log:
        "logs/write_backend_tables/tables.log",
    conda:
        "../envs/langseg.yaml"
    params:
        report=get_backend_report_params,
    script:
        "../scripts/write_backend_tables.py"
