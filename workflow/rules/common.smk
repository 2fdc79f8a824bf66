# Validation of the config and the get_* helpers every rule uses. No rule lives here.

from langseg.config import validate_config
from langseg.params import Method
from langseg.models.backends import backend_names
from langseg import workflow_plan as plan
from langseg import workflow_paths as paths
from langseg.devices import extraction_gpus, gpu_visible

# JSON-schema validation with the schema's defaults filled in (langseg/schemas, shipped with the
# package). Not snakemake.utils.validate: it fills the same defaults but reports only the first
# violation, as a schema dump; validate_config lists every violation by dotted key with the
# allowed values, and checks method_settings and cross-key rules.
validate_config(config)
PLAN = plan.WorkflowPlan.from_config(config)
if workflow.is_main_process:
    # Fail before any job; job processes (e.g. on SLURM nodes) re-parse this file and skip the
    # listing of every split and the weight checks, which the main process already did.
    PLAN.check_inputs()


wildcard_constraints:
    dataset="|".join(PLAN.dataset_names) or "^$",  # "^$": no report dataset, never matches
    split="[A-Za-z0-9_-]+",
    shard=r"\d{3}",
    # a run: the method (backend gem, the report's paths) or {backend}/{method}
    method="(?:(?:%s)/)?(?:%s)"
    % ("|".join(backend_names()), "|".join(m.value for m in Method)),
    backend="|".join(backend_names()),


def get_demo_root(wildcards):
    """The generated demo folder a demo dataset's index depends on (none for real data)."""
    return PLAN.demo_roots(wildcards.dataset)


def get_index_params(wildcards):
    """Dataset kind, root and listing options for index_dataset."""
    return PLAN.index_params(wildcards.dataset, wildcards.split)


def get_gt_params(wildcards):
    """Dataset kind, mask size, error policy, reader code digest and the identity of the shard's
    image and mask files (path, size, mtime) for prepare_gt."""
    return PLAN.gt_params(wildcards.dataset, wildcards.split, wildcards.shard)


EXTRACTION_GPUS = extraction_gpus(config["models"]["device"], gpu_present=gpu_visible())


def get_extraction_gpus(wildcards):
    """GPUs per local model-running job (extract_*, standard_segment): 0 on the CPU, so CPU
    jobs are not serialised.

    Cluster profiles override it (profiles/slurm sets gpu 1 for each extraction step).
    """
    return EXTRACTION_GPUS


def get_sd_attention_params(wildcards):
    """What changes the empty-prompt SA cache (SD weights, fidelity, timestep, seed, SA codec,
    extraction code, the shard's image files), nothing else."""
    return PLAN.extraction_params(
        wildcards.dataset, "sd_sa", wildcards.split, wildcards.shard
    )


def get_sd_gt_params(wildcards):
    """What changes the GT-prompt SD cache (SD weights, fidelity, timestep, seed, dataset classes,
    mask size, extraction code, the shard's image files)."""
    return PLAN.extraction_params(
        wildcards.dataset, "sd_gt", wildcards.split, wildcards.shard
    )


def get_gem_params(wildcards):
    """What changes the GEM cache (CLIP weights, GEM depth and resolution, dataset classes,
    extraction code, the shard's image files)."""
    return PLAN.extraction_params(
        wildcards.dataset, "gem", wildcards.split, wildcards.shard
    )


def get_backend_params(wildcards):
    """What changes a CLIP backend's cache (models, the backend's settings, dataset classes)."""
    return PLAN.extraction_params(
        wildcards.dataset, wildcards.backend, wildcards.split, wildcards.shard
    )


def get_sd_zs_params(wildcards):
    """What changes the SD pass prompted with a backend's predicted classes (aggsd-zs)."""
    return PLAN.extraction_params(
        wildcards.dataset,
        "sd_zs",
        wildcards.split,
        wildcards.shard,
        backend=wildcards.backend,
    )


def get_segment_caches(wildcards):
    """The caches of one shard that a method reads (named inputs of segment)."""
    return PLAN.segment_caches(
        wildcards.dataset, wildcards.split, wildcards.method, wildcards.shard
    )


def get_segment_params(wildcards):
    """The method's settings (only those it uses), the manifests its caches must carry and the
    digest of the method code."""
    return PLAN.segment_params(
        wildcards.dataset, wildcards.method, wildcards.split, wildcards.shard
    )


def get_shard_files(pattern):
    """A wildcards -> files function listing ``pattern`` for every shard of the dataset split."""

    def get_files(wildcards):
        return PLAN.shard_files(pattern, wildcards)

    get_files.__name__ = "get_shard_files"
    return get_files


def get_evaluate_params(wildcards):
    """Dataset description and provenance written into the evaluation."""
    return PLAN.evaluate_params(wildcards.dataset, wildcards.split, wildcards.method)


def get_all_evaluations(wildcards):
    """Every evaluation JSON of the config (datasets x splits x methods)."""
    return PLAN.all_evaluations()


def get_backend_evaluations(wildcards):
    """Every evaluation JSON of the config, for each backend (datasets x splits x runs)."""
    return PLAN.backend_evaluations()


def get_backend_report_params(wildcards):
    """Experiment name, provenance and backend order for the backend x method tables."""
    return PLAN.backend_report_params()


def get_figure3_inputs(wildcards):
    """Index, GT and predictions of the images shown in Figure 3."""
    return PLAN.figure3_inputs()


def get_report_params(wildcards):
    """Experiment name, provenance and Figure 3 selection for the tables and figures."""
    return PLAN.report_params()
