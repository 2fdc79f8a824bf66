"""Cost of attention capture and of GEM: seconds per image, capture overhead, peak RSS.

Times, for one preset (default ``sd15-random``: the full SD 1.5 / ViT-B/16 architectures with
random weights), one noisy-latent UNet pass with the default processors (SDPA), the same pass
with our capture processors (plus the SA aggregation, reported separately), and GEM at 448.
On CUDA it also reports images/second for a batch.

    python benchmarks/bench_extraction.py                      # CPU, 1 image, 2 threads
    python benchmarks/bench_extraction.py --preset tiny        # seconds, plumbing check
    python benchmarks/bench_extraction.py --device cuda --batch-size 8
"""

from __future__ import annotations

import argparse
import resource
import time

VOC_OBJECTS = ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair",
               "cow", "dining table", "dog", "horse", "motorbike", "person", "potted plant",
               "sheep", "sofa", "train", "tv/monitor")


def peak_rss_gib() -> float:
    """Peak resident set size of this process so far (Linux: ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def timed(fn, device, repeats: int) -> float:
    """Best-of-``repeats`` wall seconds of ``fn()`` after one warm-up call."""
    import torch

    fn()
    best = float("inf")
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def bench_sd(args, rows: list) -> None:
    import numpy as np
    import torch
    from PIL import Image

    from langseg.attention import aggregate_self_attention
    from langseg.models import load_sd
    from langseg.models.sd import encode_latents, noisy_latents, preprocess_images, run_pass

    sd = load_sd(args.preset, device=args.device)
    rng = np.random.default_rng(0)
    images = [Image.fromarray((rng.random((375, 500, 3)) * 255).astype(np.uint8))
              for _ in range(args.batch_size)]
    empty = list(sd.tokenizer("")["input_ids"])
    with torch.inference_mode():
        latents = encode_latents(sd, preprocess_images(images, "report"))
        noisy, steps = noisy_latents(sd, latents, 100, 0)
        ids = torch.tensor([empty] * len(images), device=sd.device)
        context = sd.text_encoder(ids)[0].to(sd.dtype)
    rows.append(("setup (build + VAE encode)", None, peak_rss_gib()))

    def plain():
        with torch.inference_mode():
            sd.unet(noisy, steps, encoder_hidden_states=context)

    t_plain = timed(plain, sd.device, args.repeats)
    rows.append(("UNet pass, default processors", t_plain, peak_rss_gib()))
    captured = {}

    def capture():
        captured["maps"] = run_pass(sd, latents, [empty] * len(images), timestep=100, seed=0,
                                    capture_cross=False)[0]

    t_cap = timed(capture, sd.device, args.repeats)
    rows.append(("UNet pass with capture", t_cap, peak_rss_gib()))
    t_agg = timed(lambda: [aggregate_self_attention(m) for m in captured["maps"]],
                  torch.device("cpu"), args.repeats)
    rows.append(("SA aggregation (CPU)", t_agg, peak_rss_gib()))
    rows.append(("capture overhead (ratio)", t_cap / t_plain, None))
    if sd.device.type == "cuda":
        rows.append(("capture pass, images/s", len(images) / t_cap, None))


def bench_gem(args, rows: list) -> None:
    import numpy as np
    from PIL import Image

    from langseg.models import gem_cosines, load_clip

    clip = load_clip(args.preset, device=args.device)
    rng = np.random.default_rng(1)
    images = [Image.fromarray((rng.random((375, 500, 3)) * 255).astype(np.uint8))
              for _ in range(args.batch_size)]
    t = timed(lambda: gem_cosines(clip, images, VOC_OBJECTS, batch_size=args.batch_size),
              clip.device, args.repeats)
    rows.append(("GEM 448, 20 classes", t, peak_rss_gib()))
    if clip.device.type == "cuda":
        rows.append(("GEM, images/s", len(images) / t, None))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="sd15-random", choices=["tiny", "sd15-random"])
    parser.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    rows: list = []
    bench_gem(args, rows)  # first: its peak RSS is not masked by the SD models
    bench_sd(args, rows)
    n = args.batch_size
    print(f"preset={args.preset} device={args.device} batch={n} threads={args.threads} "
          f"torch={torch.__version__}")
    print(f"{'step':<32} {'s/image':>9} {'peak RSS GiB':>13}")
    for name, value, rss in rows:
        per_image = "" if value is None else (f"{value:9.3f}" if "ratio" in name or "/s" in name
                                              else f"{value / n:9.3f}")
        print(f"{name:<32} {per_image:>9} {'' if rss is None else f'{rss:13.2f}'}")


if __name__ == "__main__":
    main()
