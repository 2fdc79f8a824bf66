# The get_* helpers of the standard-protocol rules (datasets with `protocol: standard`).
# The config is validated in common.smk, which is included first.

from langseg.standard_plan import StandardPlan

STANDARD = StandardPlan.from_config(config)
if workflow.is_main_process:
    STANDARD.check_inputs()


def get_standard_demo_root(wildcards):
    """The generated demo folder a standard demo dataset's index depends on."""
    return STANDARD.demo_roots(wildcards.std_dataset)


def get_standard_index_params(wildcards):
    """Benchmark, root and listing options for standard_index."""
    return STANDARD.index_params(wildcards.std_dataset, wildcards.split)


def get_standard_class_file(wildcards):
    """The dataset's own class-name file, when it names one (edits rerun its segment jobs)."""
    return STANDARD.class_files(wildcards.std_dataset)


def get_standard_segment_params(wildcards):
    """Everything that changes a shard's confusion matrices (settings file values included)."""
    return STANDARD.segment_params(wildcards.std_dataset, wildcards.backend)


def get_standard_counts(wildcards):
    """The confusion-matrix files of every shard of a split for one backend."""
    return STANDARD.count_files(
        wildcards.std_dataset, wildcards.split, wildcards.backend
    )


def get_standard_evaluate_params(wildcards):
    """Benchmark, methods, settings version and provenance written into the evaluation."""
    return STANDARD.evaluate_params(
        wildcards.std_dataset, wildcards.split, wildcards.backend
    )


def get_standard_evaluations(wildcards):
    """Every standard evaluation JSON of the config (datasets x splits x backends)."""
    return STANDARD.all_evaluations()


def get_standard_table_params(wildcards):
    """Rows (backend, method) and provenance of the standard table."""
    return STANDARD.table_params()


def get_table_targets(wildcards):
    """What `tables` builds: the report protocol's tables and figures when some dataset uses
    it, and the standard table when some dataset uses the standard protocol."""
    targets = {"standard": STANDARD.table_targets()}
    if PLAN.dataset_names:
        targets["tables"] = rules.write_tables.output
        targets["figures"] = rules.plot_figures.output
    return targets
