"""Extraction speed: CPU cost of SA writes, end-to-end passes, capture cost, fp16 agreement.

Parts (``--parts``, comma-separated; each one that fails prints its traceback and the rest go on):

* ``writer``: core-seconds (process CPU time, all threads) and wall images/s to encode, compress
  and write one full-size SA (N = 4096, hard synthetic scenes) with the default codec, through
  the serial ``StoreWriter`` and the pipelined writer at 1 and ``--threads`` threads; from
  float32 maps (CPU extraction: encoded by the writer's threads) and from uint8 codes (GPU
  extraction: encoded on the GPU, so the CPU only compresses and writes).
* ``writer-steps``: the writer's steps apart, at 1 and ``--threads`` threads, on the same
  chunks: zstd(3) compression alone (numcodecs), writing the already compressed bytes as files
  in the temporary folder (the disk alone), and both through zarr (the store's own path); chunks/s
  and MB/s. Whichever step stops scaling with threads caps the SA pass.
* ``passes``: images/s of the SA, GT-prompt and GEM passes per batch size, end to end: JPEG
  files read, model passes, stores written and closed (``langseg.pipeline.extract.run_job``,
  the code of the extraction rules), model loading excluded; peak GPU memory.
* ``agreement``: the device's reduced precision (float16 on CUDA, bfloat16 on CPU) against
  float32 on the CPU for the same images and the same noise draw: SA max relative error and the
  pixel agreement of AggGEM, DiffSegClust and SpecClust (VOC settings, CLIP cosines on CPU).
* ``capture``: one UNet pass with the default processors vs with our capture (overhead).
* ``compute``: the SA pass without the store, per batch size: the device's ceiling. Steps timed
  cumulatively on the same prepared batch: VAE + UNet + aggregation; + encoding on the device;
  + copying the codes to host memory (what the extraction hands to its writer).
* ``profile``: where the device time of one SA batch (the first ``--batch-sizes``) goes: the
  torch profiler's kernels, most expensive first, then the VAE encoder, the UNet and the
  aggregation timed apart, and the whole with cuDNN autotuning on.

    python benchmarks/bench_extraction.py --parts writer               # CPU cost per image
    python benchmarks/bench_extraction.py --preset tiny --parts passes,agreement
    python benchmarks/bench_extraction.py --device cuda --batch-sizes 1 8 16 --json out.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import resource
import tempfile
import time
import traceback
from pathlib import Path

VOC_OBJECTS = ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair",
               "cow", "dining table", "dog", "horse", "motorbike", "person", "potted plant",
               "sheep", "sofa", "train", "tv/monitor")
QUIET = logging.getLogger("bench_extraction")
QUIET.addHandler(logging.NullHandler())
QUIET.propagate = False


_MODELS: dict = {}


def model(kind: str, preset: str, device: str, dtype=None):
    """Load SD (``kind="sd"``) or CLIP once per (preset, device, dtype) in this process."""
    from langseg.models import load_clip, load_sd

    key = (kind, preset, device, dtype)
    if key not in _MODELS:
        start = time.perf_counter()
        _MODELS[key] = (load_clip(preset, device=device) if kind == "clip"
                        else load_sd(preset, device=device, dtype=dtype))
        print(f"{kind} {preset} on {device} loaded in {time.perf_counter() - start:.1f} s",
              flush=True)
    return _MODELS[key]


def peak_rss_gib() -> float:
    """Peak resident set size of this process so far (Linux: ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def bench_device(args):
    """``--device`` as a ``torch.device`` (``auto``: CUDA if there is one)."""
    import torch

    if args.device != "auto":
        return torch.device(args.device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def sync(device) -> None:
    import torch

    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def random_images(n: int, seed: int):
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    return [Image.fromarray((rng.random((375, 500, 3)) * 255).astype(np.uint8)) for _ in range(n)]


# ---------------------------------------------------------------------------------------- writer


def bench_writer(args, results: dict) -> None:
    from langseg.cache import DEFAULT_SA_CODEC, EncodedSA, encode_sa, sa_array_spec, write_store
    from langseg.cache.writer import PipelinedWriter
    from langseg.synthetic import hard_scene

    maps = [hard_scene(name, 64, seed=k)[1] for k, name in
            enumerate(("dense-floor", "flat-noisy"))]
    encoded = [encode_sa(m, DEFAULT_SA_CODEC) for m in maps]
    n = args.writer_images
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_writer_") as tmp:
        for threads in dict.fromkeys((0, 1, args.threads)):
            for kind in ("float32 in (CPU extraction)", "uint8 in (GPU extraction)"):
                store = write_store(Path(tmp) / f"{threads}-{len(rows)}.zarr", manifest={},
                                    image_ids=[str(i) for i in range(n)],
                                    arrays={"sa": sa_array_spec(4096, DEFAULT_SA_CODEC)})
                items = [maps[i % 2] if kind.startswith("float32") else
                         EncodedSA(DEFAULT_SA_CODEC, encoded[i % 2].values,
                                   encoded[i % 2].row_scale) for i in range(n)]
                cpu, wall = time.process_time(), time.perf_counter()
                with PipelinedWriter(store, threads=threads,
                                     max_pending=2 * max(1, threads)) as writer:
                    for i, item in enumerate(items):
                        writer.submit(i, sa=item)
                    writer.wait()
                    wall = time.perf_counter() - wall
                    cpu = time.process_time() - cpu
                name = "serial" if threads == 0 else f"threads, {threads}"
                rows.append({"writer": name, "input": kind, "core_s_per_image": cpu / n,
                             "images_per_s": n / wall})
    results["writer"] = {"codec": DEFAULT_SA_CODEC.value, "images": n, "rows": rows}
    print(f"\n## CPU cost per image: codec {DEFAULT_SA_CODEC.value}, N = 4096, {n} images, "
          f"hard scenes (dense-floor, flat-noisy)")
    print("| writer | input | core-s / image | images / s (wall) |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['writer']} | {r['input']} | {r['core_s_per_image']:.3f} | "
              f"{r['images_per_s']:.1f} |")


def bench_writer_steps(args, results: dict) -> None:
    from concurrent.futures import ThreadPoolExecutor

    import numcodecs

    from langseg.cache import DEFAULT_SA_CODEC, encode_sa, sa_array_spec, write_store
    from langseg.synthetic import hard_scene

    codes = [encode_sa(hard_scene(name, 64, seed=k)[1], DEFAULT_SA_CODEC).values
             for k, name in enumerate(("dense-floor", "flat-noisy"))]
    zstd = numcodecs.Zstd(level=3)
    blobs = [zstd.encode(c) for c in codes]
    n = max(4, args.writer_images)
    mb = sum(len(blobs[i % 2]) for i in range(n)) / 1e6
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_steps_") as tmp:
        def file_write(i: int) -> None:
            (Path(tmp) / f"raw{i}").write_bytes(blobs[i % 2])

        for threads in sorted({1, args.threads}):
            store = write_store(Path(tmp) / f"s{threads}.zarr", manifest={},
                                image_ids=[str(i) for i in range(n)],
                                arrays={"sa": sa_array_spec(4096, DEFAULT_SA_CODEC)})
            steps = {"zstd(3) only": lambda i: zstd.encode(codes[i % 2]),
                     "file write only": file_write,
                     "zarr (both)": lambda i, s=store: s.put_chunks(
                         i, {"sa/values": codes[i % 2][None]})}
            for step, fn in steps.items():
                with ThreadPoolExecutor(threads) as pool:
                    wall = time.perf_counter()
                    list(pool.map(fn, range(n)))
                    wall = time.perf_counter() - wall
                rows.append({"step": step, "threads": threads, "chunks_per_s": n / wall,
                             "mb_per_s": mb / wall})
    results["writer_steps"] = rows
    print(f"\n## Writer steps apart: {n} chunks of 16 MiB codes ({DEFAULT_SA_CODEC.value}, "
          f"{mb / n:.1f} MB compressed each), temporary folder {tempfile.gettempdir()}")
    print("| step | threads | chunks / s | MB / s (compressed) |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['step']} | {r['threads']} | {r['chunks_per_s']:.1f} | {r['mb_per_s']:.0f} |")


# ---------------------------------------------------------------------------------------- passes


def _write_jpegs(folder: Path, n: int) -> list[Path]:
    paths = []
    for i, image in enumerate(random_images(n, seed=7)):
        paths.append(folder / f"img{i:04d}.jpg")
        image.save(paths[-1], quality=90)
    return paths


def _labels(n: int):
    import numpy as np

    rng = np.random.default_rng(3)
    out = []
    for _ in range(n):
        label = np.zeros((64, 64), np.int16)
        for c in rng.choice(np.arange(1, 21), size=int(rng.integers(1, 4)), replace=False):
            y, x = rng.integers(0, 48, size=2)
            label[y:y + 16, x:x + 16] = c
        out.append(label)
    return out


def _pass_params(source: str, preset: str) -> dict:
    models = {"preset": preset, "sd_path": None, "sd_config": None, "clip_path": None}
    if source == "gem":
        return {"source": "gem", "kind": "voc2012", "depth": 7, "resolution": 448,
                "models": models}
    return {"source": source, "kind": "voc2012", "timestep": 100 if source == "sd_sa" else 101,
            "seed": 0, "fidelity": "report", "models": models,
            **({"sa_codec": "default"} if source == "sd_sa" else {})}


def _one_pass(args, device, source: str, loaded, paths, labels, store: Path, bs: int,
              loaders: int) -> dict:
    """One timed ``run_job`` of ``source`` at batch size ``bs``: its row."""
    import torch

    from langseg.params import Device
    from langseg.pipeline.extract import RuntimeOptions, open_job, run_job

    n = min(len(paths), max(args.min_images, bs * args.batches))
    runtime = RuntimeOptions(device=Device(device.type), batch_size=bs, threads=args.threads,
                             loaders=loaders)
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    job = open_job(_pass_params(source, args.preset), [p.stem for p in paths[:n]], labels[:n],
                   store, runtime, model=loaded)
    sync(device)
    wall = time.perf_counter()
    times = run_job(job, paths[:n], bs, desc=f"{source} bs={bs}", log=QUIET, loaders=loaders)
    sync(device)
    wall = time.perf_counter() - wall
    return {"pass": source, "batch_size": bs, "images": n, "loaders": loaders,
            "times": dataclasses.asdict(times), "images_per_s": n / wall, "seconds": wall,
            "peak_gpu_gib": (torch.cuda.max_memory_allocated() / 2**30
                             if device.type == "cuda" else None),
            "peak_rss_gib": peak_rss_gib()}


def bench_passes(args, results: dict) -> None:

    device = bench_device(args)
    rows = results.setdefault("passes", [])
    runs = [(args.batch_sizes[0], args.loaders[0], True)]  # the first run warms up
    runs += [(bs, loaders, False) for bs in args.batch_sizes for loaders in args.loaders]
    with tempfile.TemporaryDirectory(prefix="bench_passes_") as tmp:
        paths = _write_jpegs(Path(tmp), args.images)
        labels = _labels(args.images)
        for source in args.passes:
            loaded = model("clip" if source == "gem" else "sd", args.preset, device.type)
            for k, (bs, loaders, warmup) in enumerate(runs):
                row = _one_pass(args, device, source, loaded, paths, labels,
                                Path(tmp) / f"{source}-{k}.zarr", bs, loaders)
                rows.append(dict(row, warmup=True) if warmup else row)
                t = row["times"]
                print(f"  {source} bs={bs} loaders={loaders}: {row['images_per_s']:.2f} images/s "
                      f"over {row['images']} images{' (warm-up)' if warmup else ''}; seconds "
                      f"waiting for images {t['waiting_for_images']:.2f}, computing "
                      f"{t['computing']:.2f}, waiting for the writer "
                      f"{t['waiting_for_writer']:.2f}, closing {t['closing']:.2f}", flush=True)
    print(f"\n## End to end (JPEG read to store closed), preset {args.preset}, device {device}, "
          f"store writer: {args.threads} threads; seconds "
          f"of the main thread: waiting for images / computing / waiting for the writer / closing")
    print("| pass | batch size | loaders | images | images / s | wait images | compute | "
          "wait writer | closing | peak GPU GiB | peak RSS GiB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if r.get("warmup"):
            continue
        gpu = "" if r["peak_gpu_gib"] is None else f"{r['peak_gpu_gib']:.1f}"
        t = r["times"]
        print(f"| {r['pass']} | {r['batch_size']} | {r['loaders']} | {r['images']} | "
              f"{r['images_per_s']:.2f} | "
              f"{t['waiting_for_images']:.2f} | {t['computing']:.2f} | "
              f"{t['waiting_for_writer']:.2f} | {t['closing']:.2f} | "
              f"{gpu} | {r['peak_rss_gib']:.1f} |")


# ------------------------------------------------------------------------------------- agreement


def _sa_with_noise_on(sd, pixels, noise_device, seed: int = 0, timestep: int = 100) -> list:
    """:func:`langseg.models.sd.self_attention_batch`, but the noise is drawn on
    ``noise_device`` (CPU and CUDA generators differ) so that two devices see the same noise."""
    import torch

    from langseg.attention import aggregate_self_attention
    from langseg.models.sd import capturing, encode_latents, encode_prompts

    empty = list(sd.tokenizer("")["input_ids"])
    with torch.inference_mode():
        latents = encode_latents(sd, pixels)
        noise = torch.stack([torch.randn(latents.shape[1:], device=noise_device,
                                         generator=torch.Generator(noise_device).manual_seed(seed))
                             for _ in range(latents.shape[0])]).to(latents.device, latents.dtype)
        steps = torch.full((latents.shape[0],), timestep, device=latents.device)
        noisy = sd.scheduler.scale_model_input(
            sd.scheduler.add_noise(latents, noise, steps), timestep)
        context = encode_prompts(sd, [empty] * latents.shape[0])
        with capturing(sd.unet, capture_cross=False) as store:
            sd.unet(noisy, steps, encoder_hidden_states=context)
        layers = list(store.self_maps.values())
        return [aggregate_self_attention([m[i] for m in layers]).cpu()
                for i in range(latents.shape[0])]


def bench_agreement(args, results: dict) -> None:
    import numpy as np
    import torch

    from langseg.methods import ImageInputs, MethodSettings, segment_image
    from langseg.models import gem_cosines
    from langseg.models.sd import preprocess_images
    from langseg.params import DatasetKind, Method

    device = bench_device(args)
    low = torch.float16 if device.type == "cuda" else torch.bfloat16
    images = random_images(args.agreement_images, seed=11)
    pixels = preprocess_images(images, "report")
    noise_device = device.type
    # on CUDA load_sd's default dtype is float16: the model of the passes is reused
    test = _sa_with_noise_on(model("sd", args.preset, device.type,
                                   None if device.type == "cuda" else low), pixels, noise_device)
    ref = _sa_with_noise_on(model("sd", args.preset, "cpu", torch.float32), pixels, noise_device)
    cosines = gem_cosines(model("clip", args.preset, "cpu"), images, VOC_OBJECTS)
    settings = MethodSettings.for_dataset(DatasetKind.VOC2012)
    out = {"dtype": str(low).removeprefix("torch."), "images": len(images),
           "sa_max_rel_error": max(float(((t - r).abs().amax(1) / r.amax(1)).max())
                                   for t, r in zip(test, ref))}
    for method in (Method.AGGGEM, Method.DIFFSEGCLUST, Method.SPECCLUST):
        agree = []
        try:
            for k in range(len(images)):
                pred = [segment_image(method, ImageInputs(cosines=np.asarray(cosines[k]),
                                                          self_attention=sa[k].numpy()), settings)
                        for sa in (test, ref)]
                agree.append(float(np.mean(pred[0] == pred[1])))
            out[method.value] = min(agree)
        except Exception as err:  # noqa: BLE001  e.g. scikit-learn missing: report, go on
            traceback.print_exc()
            out[method.value] = f"failed: {type(err).__name__}: {err}"
    results["agreement"] = out
    print(f"\n## {out['dtype']} on {device} vs float32 on CPU, {len(images)} images, "
          f"same noise draw, preset {args.preset}")
    print(f"SA max relative error (per row, |diff| / row max): {out['sa_max_rel_error']:.2e}")
    for method in ("agggem", "diffsegclust", "specclust"):
        value = out[method]
        print(f"{method}: " + (f"{100 * value:.3f} % of pixels equal (worst image)"
                               if isinstance(value, float) else value))


# --------------------------------------------------------------------------------------- capture


def timed(fn, device, repeats: int) -> float:
    """Best-of-``repeats`` wall seconds of ``fn()`` after one warm-up call."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        best = min(best, time.perf_counter() - start)
    return best


def bench_capture(args, results: dict) -> None:
    import torch

    from langseg.attention import aggregate_self_attention
    from langseg.models.sd import encode_latents, noisy_latents, preprocess_images, run_pass

    sd = model("sd", args.preset, bench_device(args).type)
    images = random_images(args.batch_sizes[0], seed=0)
    empty = list(sd.tokenizer("")["input_ids"])
    with torch.inference_mode():
        latents = encode_latents(sd, preprocess_images(images, "report"))
        noisy, steps = noisy_latents(sd, latents, 100, 0)
        context = sd.text_encoder(torch.tensor([empty] * len(images), device=sd.device))[0]
        context = context.to(sd.dtype)

    def plain():
        with torch.inference_mode():
            sd.unet(noisy, steps, encoder_hidden_states=context)

    captured = {}

    def capture():
        captured["maps"] = run_pass(sd, latents, [empty] * len(images), timestep=100, seed=0,
                                    capture_cross=False)[0]

    n = len(images)
    t_plain = timed(plain, sd.device, args.repeats) / n
    t_cap = timed(capture, sd.device, args.repeats) / n
    with torch.inference_mode():
        t_agg = timed(lambda: [aggregate_self_attention(m) for m in captured["maps"]],
                      sd.device, args.repeats) / n
    results["capture"] = {"plain_s": t_plain, "capture_s": t_cap, "aggregate_s": t_agg,
                          "batch_size": n}
    print(f"\n## Capture cost, preset {args.preset}, device {sd.device}, batch {n} (s/image)")
    print(f"UNet pass, default processors {t_plain:.4f}; with capture {t_cap:.4f} "
          f"(x{t_cap / t_plain:.2f}); SA aggregation {t_agg:.4f}; peak RSS {peak_rss_gib():.1f} GiB")


# --------------------------------------------------------------------------------------- compute


def bench_compute(args, results: dict) -> None:
    import torch

    from langseg.cache import DEFAULT_SA_CODEC
    from langseg.cache.codecs import encode_sa_tensor
    from langseg.cache.writer import stage_on_host
    from langseg.models.sd import preprocess_images, self_attention_batch

    device = bench_device(args)
    sd = model("sd", args.preset, device.type)
    rows = []
    for bs in args.batch_sizes:
        pixels = preprocess_images(random_images(bs, seed=1), "report")
        pixels = pixels.pin_memory() if device.type == "cuda" else pixels

        def attention(pixels=pixels):
            return self_attention_batch(sd, pixels.to(sd.device, non_blocking=True),
                                        timestep=100, seed=0)

        def encoded():
            return [encode_sa_tensor(sa, DEFAULT_SA_CODEC) for sa in attention()]

        def on_host():
            readies = [stage_on_host(list(codes))[1] for codes in encoded()]
            for ready in readies:
                ready()

        if device.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        row = {"batch_size": bs}
        for step, fn in (("attention", attention), ("+ encode", encoded),
                         ("+ to host", on_host)):
            row[step] = bs / timed(fn, device, max(1, args.repeats))
        row["peak_gpu_gib"] = (torch.cuda.max_memory_allocated() / 2**30
                               if device.type == "cuda" else None)
        rows.append(row)
        print(f"  compute bs={bs}: " + ", ".join(f"{k} {row[k]:.1f}" for k in
                                                 ("attention", "+ encode", "+ to host")),
              flush=True)
    results["compute"] = rows
    print(f"\n## SA pass without the store (images/s, best of {max(1, args.repeats)}), preset "
          f"{args.preset}, device {device}, codec {DEFAULT_SA_CODEC.value}")
    print("| batch size | VAE + UNet + aggregation | + encode | + codes to host | peak GPU GiB |")
    print("|---|---|---|---|---|")
    for r in rows:
        gpu = "" if r["peak_gpu_gib"] is None else f"{r['peak_gpu_gib']:.1f}"
        print(f"| {r['batch_size']} | {r['attention']:.2f} | {r['+ encode']:.2f} | "
              f"{r['+ to host']:.2f} | {gpu} |")


def bench_profile(args, results: dict) -> None:
    import torch
    from torch.profiler import ProfilerActivity, profile

    from langseg.attention import aggregate_self_attention
    from langseg.models.sd import encode_latents, preprocess_images, run_pass

    device = bench_device(args)
    sd = model("sd", args.preset, device.type)
    bs = args.batch_sizes[0]
    pixels = preprocess_images(random_images(bs, seed=1), "report").to(sd.device)
    empty = list(sd.tokenizer("")["input_ids"])
    state: dict = {}

    def vae():
        with torch.inference_mode():
            state["latents"] = encode_latents(sd, pixels)

    def unet():
        state["maps"] = run_pass(sd, state["latents"], [empty] * bs, timestep=100, seed=0,
                                 capture_cross=False)[0]

    def aggregate():
        with torch.inference_mode():
            return [aggregate_self_attention(m) for m in state["maps"]]

    def whole():
        vae()
        unet()
        aggregate()

    steps = {"VAE encoder": vae, "UNet with capture": unet, "aggregation": aggregate,
             "whole": whole}
    row = {name: bs / timed(fn, device, max(1, args.repeats)) for name, fn in steps.items()}
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda"
                                           else [])
    with profile(activities=activities) as prof:
        whole()
        sync(device)
    key = "cuda_time_total" if device.type == "cuda" else "cpu_time_total"
    print(prof.key_averages().table(sort_by=key, row_limit=25, max_name_column_width=70))
    torch.backends.cudnn.benchmark = True
    row["whole, cudnn.benchmark"] = bs / timed(whole, device, max(2, args.repeats))
    torch.backends.cudnn.benchmark = False
    results["profile"] = dict(row, batch_size=bs)
    print(f"\n## SA batch of {bs} on {device}, steps apart (images/s, best of "
          f"{max(1, args.repeats)})")
    for name, value in row.items():
        print(f"{name}: {value:.2f}")


PARTS = {"writer": bench_writer, "writer-steps": bench_writer_steps, "passes": bench_passes,
         "agreement": bench_agreement, "capture": bench_capture, "compute": bench_compute,
         "profile": bench_profile}


def main(argv=None) -> int:
    from langseg.pipeline.extract import RuntimeOptions

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="writer,passes,agreement",
                        help=f"comma-separated, in order, from {','.join(PARTS)}")
    parser.add_argument("--preset", default="sd15-random", choices=["tiny", "sd15-random"])
    parser.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1])
    parser.add_argument("--passes", nargs="+", default=["sd_sa", "sd_gt", "gem"],
                        choices=["sd_sa", "sd_gt", "gem"])
    parser.add_argument("--images", type=int, default=8, help="JPEGs written for the passes")
    parser.add_argument("--batches", type=int, default=4, help="passes: batches per batch size")
    parser.add_argument("--min-images", type=int, default=4, help="passes: images per run")
    parser.add_argument("--agreement-images", type=int, default=2)
    parser.add_argument("--writer-images", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2,
                        help="torch threads and store-writer threads")
    parser.add_argument("--loaders", type=int, nargs="+", default=[RuntimeOptions.loaders],
                        help="passes: batches read and prepared ahead, one thread each (each "
                             "value is run at each batch size)")
    parser.add_argument("--json", type=Path, help="write the results here (after every part)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    header = {"preset": args.preset, "device": args.device, "threads": args.threads,
              "loaders": args.loaders,
              "torch": torch.__version__, "gpu": (torch.cuda.get_device_name(0)
                                                  if torch.cuda.is_available() else None)}
    print(" ".join(f"{k}={v}" for k, v in header.items()), flush=True)
    results: dict = {"header": header, "failed": []}
    for name in args.parts.split(","):
        start = time.perf_counter()
        try:
            PARTS[name](args, results)
        except Exception:  # noqa: BLE001  one failing part must not stop the others
            traceback.print_exc()
            results["failed"].append(name)
            print(f"PART {name} FAILED (traceback above); continuing", flush=True)
        results.setdefault("seconds", {})[name] = time.perf_counter() - start
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))
    print(f"\nparts failed: {results['failed'] or 'none'}")
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
