#!/usr/bin/env bash
# GPU check of the extraction (issue #12), in one go, at most ~7 minutes on one H100:
#   1. environment (torch, CUDA device), installing the wheels in .whl/ if there are any;
#   2. the tests marked `gpu` (python -m pytest -m gpu), plus the codec/writer/attention tests;
#   3. bench_extraction.py --device cuda on sd15-random, 16 threads (profiles/slurm's): images/s
#      per pass (SA, GT prompt, GEM) and per batch size end to end, peak GPU memory, and the
#      agreement of CUDA float16 with CPU float32 (SA error; AggGEM/DiffSegClust/SpecClust);
#   4. the store writer at 1 and 16 threads: the per-image CPU cost of SA writes and images/s,
#      and its steps apart (zstd, file writes, zarr);
#   5. the SA pass as a GPU node runs it (`wide`, 16 threads): without the store (the device's
#      own ceiling), its steps profiled (VAE, UNet, aggregation; the top kernels), and end to
#      end with 1 and 2 loader threads, with where the main thread waited.
# Each part runs under its own time limit; a failing part prints its error and the rest go on.
# Results: printed, and written to $OUT (or a temporary folder): summary.txt, *.log, bench.json.
#
#   bash benchmarks/gpu_check.sh                                         # on the GPU machine
#   GPU_CHECK_DEVICE=cpu GPU_CHECK_PRESET=tiny bash benchmarks/gpu_check.sh   # dry run on CPU
set -u
cd "$(dirname "$0")/.."
DEVICE=${GPU_CHECK_DEVICE:-cuda}
PRESET=${GPU_CHECK_PRESET:-sd15-random}
PY=${PYTHON:-python3}
OUTDIR=${OUT:-$(mktemp -d -t gpu_check.XXXXXX)}
mkdir -p "$OUTDIR"
SUMMARY="$OUTDIR/summary.txt"
: > "$SUMMARY"
START=$(date +%s)

if [ "$PRESET" = tiny ]; then  # dry run: small and quick
    BATCH_SIZES="1 2"; IMAGES=6; BATCHES=2; WRITER_IMAGES=2; THREADS=2; WIDE=2
    WIDE_BS=2; WIDE_IMAGES=6; T_TESTS=600; T_BENCH=900; T_WRITER=300; T_WIDE=300
else
    BATCH_SIZES="1 8 16 32"; IMAGES=96; BATCHES=3; WRITER_IMAGES=16; THREADS=16; WIDE=16
    WIDE_BS=32; WIDE_IMAGES=192; T_TESTS=100; T_BENCH=260; T_WRITER=90; T_WIDE=120
fi

note() { echo "$*" | tee -a "$SUMMARY"; }

part() {  # part NAME SECONDS COMMAND...: run with a time limit, log, record the exit status
    local name=$1 limit=$2
    shift 2
    echo "=== $name (limit ${limit} s): $*"
    local t0=$(date +%s)
    timeout --signal=INT --kill-after=15 "$limit" "$@" 2>&1 | tee "$OUTDIR/$name.log"
    local rc=${PIPESTATUS[0]}
    note "$name: exit $rc after $(( $(date +%s) - t0 )) s$([ "$rc" = 124 ] && echo ' (TIME LIMIT)')"
}

if ls .whl/*.whl >/dev/null 2>&1; then
    part install 120 "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
        --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site:$PWD
else
    export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
fi

part env 60 "$PY" - <<'EOF'
import importlib, torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print("device", p.name, f"{p.total_memory / 2**30:.1f} GiB")
for name in ("diffusers", "open_clip", "zarr", "numcodecs", "transformers", "sklearn",
             "threadpoolctl", "jsonschema", "snakemake"):
    try:
        print(name, getattr(importlib.import_module(name), "__version__", "?"))
    except Exception as err:  # report what is missing, go on
        print(name, "MISSING", type(err).__name__, err)
EOF

part tests "$T_TESTS" "$PY" -m pytest -q -p no:cacheprovider -m "gpu or not slow" \
    tests/test_gpu.py tests/test_cache_codecs.py tests/test_cache_writer.py \
    tests/test_codec_mass_floor.py \
    tests/test_attention.py tests/test_pipeline_extract_pipelining.py

part bench "$T_BENCH" "$PY" benchmarks/bench_extraction.py --device "$DEVICE" --preset "$PRESET" \
    --parts passes,agreement --batch-sizes $BATCH_SIZES --images "$IMAGES" \
    --batches "$BATCHES" --threads "$THREADS" \
    --json "$OUTDIR/bench.json"

part writer16 "$T_WRITER" "$PY" benchmarks/bench_extraction.py --device "$DEVICE" \
    --preset "$PRESET" --parts writer-steps,writer --writer-images "$WRITER_IMAGES" --threads "$WIDE" \
    --json "$OUTDIR/writer16.json"

part wide "$T_WIDE" "$PY" benchmarks/bench_extraction.py --device "$DEVICE" --preset "$PRESET" \
    --parts compute,profile,passes --passes sd_sa --batch-sizes $WIDE_BS \
    --images "$WIDE_IMAGES" --batches 6 --threads "$WIDE" --loaders 1 2 --repeats 2 \
    --json "$OUTDIR/wide.json"

note "total: $(( $(date +%s) - START )) s; results in $OUTDIR"
"$PY" - "$OUTDIR"/{bench,writer16,wide}.json <<'EOF' | tee -a "$SUMMARY"
import json, sys
r = {"passes": [], "writer": {"rows": []}}
for path in sys.argv[1:]:
    try:
        part = json.load(open(path))
    except Exception as err:
        print(f"no results in {path}: {err}")
        continue
    print(path.rsplit("/", 1)[-1], "header:", part.get("header"), "failed:", part.get("failed"))
    threads = part["header"]["threads"]
    r["passes"] += [dict(p, **{"pass": f"{p['pass']} ({threads} thr, {p['loaders']} ld)"})
                    for p in part.get("passes", [])]
    r.setdefault("compute", []).extend(part.get("compute", []))
    r["writer"]["rows"] += part.get("writer", {}).get("rows", [])
    r.setdefault("writer_steps", []).extend(part.get("writer_steps", []))
    r.update({k: v for k, v in part.items() if k in ("agreement", "profile")})
for p in r.get("passes", []):
    if not p.get("warmup"):
        gpu = p["peak_gpu_gib"]
        t = p["times"]
        print(f"{p['pass']:24s} bs={p['batch_size']:<3d} {p['images_per_s']:8.2f} images/s "
              f"peak GPU {'-' if gpu is None else f'{gpu:.1f}'} GiB; main thread waited "
              f"{t['waiting_for_images']:.2f} s for images, {t['waiting_for_writer']:.2f} s for "
              f"the writer, computed {t['computing']:.2f} s, closed {t['closing']:.2f} s")
for c in r.get("compute", []):
    print(f"SA without the store bs={c['batch_size']:<3d} attention {c['attention']:.1f}, "
          f"+ encode {c['+ encode']:.1f}, + to host {c['+ to host']:.1f} images/s")
if "profile" in r:
    print("SA steps apart (images/s):", {k: round(v, 1) for k, v in r["profile"].items()})
if "agreement" in r:
    print("agreement:", r["agreement"])
for w in r.get("writer_steps", []):
    print(f"writer step {w['step']}, {w['threads']} threads: {w['chunks_per_s']:.1f} chunks/s, "
          f"{w['mb_per_s']:.0f} MB/s")
for w in r.get("writer", {}).get("rows", []):
    print(f"writer {w['writer']}, {w['input']}: {w['core_s_per_image']:.3f} core-s/image, "
          f"{w['images_per_s']:.1f} images/s")
EOF
exit 0
