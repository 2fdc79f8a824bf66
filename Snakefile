# langseg: zero-shot language-based segmentation from SD 1.5 and GEM attention.
#
#   snakemake --cores 8 tables          # everything, from extraction to the tables and figures
#
# File layout (results, caches, tables, logs): langseg/workflow_paths.py, the one place every rule
# and plan takes its paths from.

from snakemake.utils import min_version

min_version("9.0")


# config.yaml is the default experiment; `--configfile other.yaml` replaces it (instead of being
# merged into it, which would keep the demo's datasets in every other experiment).
if not workflow.config_settings.configfiles:

    configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/common_standard.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/extract.smk"
include: "workflow/rules/segment.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/standard.smk"


localrules:
    tables,
    write_backend_tables,


rule tables:
    default_target: True
    input:
        unpack(get_table_targets),
        backend_tables=rules.write_backend_tables.output,
