# Tables 2-4 and Figures 2-3 of the report, from every evaluation of the config.

TABLES = paths.report_table_stems(PLAN.dataset_split_names())


rule write_tables:
    input:
        scores=get_all_evaluations,
    output:
        table2=report(
            paths.table(paths.TABLE2_STEM, "csv"),
            caption="../report/table2.rst",
            category="Tables",
        ),
        table3=report(
            paths.table(paths.TABLE3_STEM, "csv"),
            caption="../report/table3.rst",
            category="Tables",
        ),
        table4=report(
            paths.table(paths.TABLE4_STEM, "csv"),
            caption="../report/table4.rst",
            category="Tables",
        ),
        summary=report(
            paths.table(paths.SUMMARY_STEM, "csv"),
            caption="../report/summary.rst",
            category="Tables",
        ),
        class_iou=report(
            [
                paths.table(paths.class_iou_stem(name), "csv")
                for name in PLAN.dataset_split_names()
            ],
            caption="../report/class_iou.rst",
            category="Tables",
        ),
        markdown=report(
            [paths.table(stem, "md") for stem in TABLES],
            caption="../report/table_formats.rst",
            category="Tables",
            subcategory="Markdown",
        ),
        latex=report(
            [paths.table(stem, "tex") for stem in TABLES],
            caption="../report/table_formats.rst",
            category="Tables",
            subcategory="LaTeX (booktabs)",
        ),
    log:
        paths.log("write_tables", "tables"),
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
            paths.figure(paths.FIGURE2_STEM, "png"),
            caption="../report/figure2.rst",
            category="Figures",
        ),
        figure3=report(
            paths.figure(paths.FIGURE3_STEM, "png"),
            caption="../report/figure3.rst",
            category="Figures",
        ),
        figure2_pdf=report(
            paths.figure(paths.FIGURE2_STEM, "pdf"),
            caption="../report/figure2.rst",
            category="Figures",
            subcategory="PDF",
        ),
        figure3_pdf=report(
            paths.figure(paths.FIGURE3_STEM, "pdf"),
            caption="../report/figure3.rst",
            category="Figures",
            subcategory="PDF",
        ),
    log:
        paths.log("plot_figures", "figures"),
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
        csv=paths.backend_table_files("csv", PLAN.dataset_split_names()),
        markdown=paths.backend_table_files("md", PLAN.dataset_split_names()),
        latex=paths.backend_table_files("tex", PLAN.dataset_split_names()),
    log:
        paths.log("write_backend_tables", "tables"),
    conda:
        "../envs/langseg.yaml"
    params:
        report=get_backend_report_params,
    script:
        "../scripts/write_backend_tables.py"
