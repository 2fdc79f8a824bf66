# langseg: zero-shot language-based segmentation from SD 1.5 and GEM attention.
#
#   snakemake --cores 8 tables          # everything, from extraction to the tables and figures
#
# Paths (dataset = a key of config `datasets`, shard = 000, 001, ...):
#   resources/demo/VOC2012/                                generated demo dataset (make_demo)
#   results/{dataset}/{split}/index.tsv                    image ids, paths, shard (index_dataset)
#   results/{dataset}/{split}/gt/{shard}.npz               GT labels at mask_size (prepare_gt)
#   results/cache/{dataset}/{split}/sd_sa/{shard}.zarr     SD self-attention, empty prompt
#   results/cache/{dataset}/{split}/sd_gt/{shard}.zarr     SD GT-prompt pass for AggSD
#   results/cache/{dataset}/{split}/gem/{shard}.zarr       GEM patch-text cosines
#   results/cache/{dataset}/{split}/{backend}/{shard}.zarr  another CLIP backend's cosines
#   results/cache/{dataset}/{split}/sd_zs/{backend}/...     SD pass prompted with its classes
#   results/{dataset}/{split}/pred/{method}/{shard}.npz    predicted label maps (segment);
#                                                          {method} is e.g. agggem (gem) or sclip/agggem
#   results/{dataset}/{split}/eval/{method}.json           scores (evaluate)
#   results/tables/, results/figures/                      Tables 2-4, Figures 2-3
#   results/standard/{dataset}/{split}/...                 standard protocol (index, counts, eval)
#   results/tables/standard_benchmark.*                    the standard protocol's table
#   logs/{rule}/...                                        one log per job; benchmarks in logs/benchmarks/

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
