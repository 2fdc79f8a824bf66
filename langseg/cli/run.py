"""Running the commands: ``info``, and ``segment`` = validate -> load models once -> each image.

``segment`` checks everything it can before loading a model (arguments, output plan, weights,
that every image opens), warns when the weights are random, then runs every image through
:class:`langseg.pipeline.single_image.ImageSegmenter` (the workflow's code path), showing which
image it is at and an ETA. stdout gets one result line per image; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from langseg.cli.errors import EXIT_OK, UsageError
from langseg.cli.parser import SINGLE_IMAGE_METHODS
from langseg.cli.requests import SegmentRequest, make_request
from langseg.params import Device, Fidelity, Method, Preset


def run_info(args: argparse.Namespace) -> int:
    """Print presets, single-image methods, workflow-only methods, fidelities, devices."""
    gt_methods = [m.value for m in Method if m.uses_ground_truth]
    print("presets:    " + ", ".join(p.value for p in Preset))
    print("methods:    " + ", ".join(m.value for m in SINGLE_IMAGE_METHODS))
    print("workflow only (need ground-truth classes): " + ", ".join(gt_methods))
    print("fidelity:   " + ", ".join(f.value for f in Fidelity))
    print("devices:    " + ", ".join(d.value for d in Device))
    from langseg.pipeline.single_image import BACKENDS

    print("backends:   " + ", ".join(BACKENDS))
    return EXIT_OK


def run_segment(args: argparse.Namespace) -> int:
    """The ``segment`` command (see :func:`langseg.cli.parser.segment_description`)."""
    from langseg.cli.output import label_palette

    request = make_request(args)
    device = resolve_device(request.device)
    check_weights(request)
    check_images_open([job.image for job in request.jobs])
    if request.preset is not Preset.REAL:
        say(f"warning: preset {request.preset.value} has RANDOM weights, so the labels are "
            "meaningless; it is for trying the command (use --preset real for real results)")
    segmenter = make_segmenter(request, device)
    palette = label_palette(len(request.classes), background=request.background)
    progress = ImageProgress(len(request.jobs))
    try:
        for job in request.jobs:
            progress.starting(job.image)
            start = time.perf_counter()
            line = segment_one(segmenter, request, job, palette, progress.step)
            progress.finished(f"{line} in {format_seconds(time.perf_counter() - start)}"
                              f"{written(job)}")
    finally:
        progress.close()
    return EXIT_OK


def segment_one(segmenter, request: SegmentRequest, job, palette, step) -> str:
    """Segment one image, write its outputs; returns its result line (without the time).
    ``step(stage)`` is called as each stage starts."""
    from langseg.cli.output import (resize_nearest, summary_line, write_label_png,
                                    write_overlay_png)

    image = load_user_image(job.image)
    labels = resize_nearest(segmenter.segment(image, step), image.height, image.width)
    try:
        if job.labels is not None:
            write_label_png(labels, palette, job.labels)
        if job.overlay is not None:
            write_overlay_png(image, labels, request.label_names, palette, job.overlay)
    except OSError as err:  # disk full, permissions changed during the run
        raise UsageError(f"cannot write the outputs of {job.image} ({err}); free space or "
                         "choose another folder (--out-dir)") from None
    return f"{job.image}: {summary_line(request.method, labels, request.label_names)}"


def written(job) -> str:
    files = [str(p) for p in (job.overlay, job.labels) if p is not None]
    return f" -> {', '.join(files)}" if files else ""


def make_segmenter(request: SegmentRequest, device: str):
    """The :class:`ImageSegmenter` of ``request`` (loads the models)."""
    from langseg.pipeline.single_image import ImageSegmenter, ModelOptions

    models = ModelOptions(preset=request.preset, device=Device(device), sd_path=request.sd_path,
                          sd_config=request.sd_config, clip_path=request.clip_path)
    return ImageSegmenter(request.method, request.classes, method_settings(request),
                          models=models, fidelity=request.fidelity, seed=request.seed,
                          backend=request.backend, say=say)


def method_settings(request: SegmentRequest):
    """``MethodSettings``: the VOC defaults (temperature, background rule) with
    ``--background``, else those of the datasets without a background rule; ``--temperature``
    overrides the temperature.

    Why: the report uses VOC's temperature only on VOC, where its background rule (offset tuned
    with that temperature) adds channel 0; every other dataset uses CLIP's logit scale."""
    from langseg.methods import MethodSettings
    from langseg.params import DatasetKind

    kind = DatasetKind.VOC2012 if request.background else DatasetKind.CONTEXT
    return MethodSettings.for_dataset(kind, {"temperature": request.temperature})


# ------------------------------------------------------------------------- checks up front


def resolve_device(device: Device) -> str:
    """``"cuda"`` or ``"cpu"`` (``auto`` picks CUDA when torch sees a GPU)."""
    from langseg.models.loading import resolve_device as resolve

    try:
        return str(resolve(device))
    except ValueError as err:  # cuda asked for, none visible
        raise UsageError(f"--device {device.value}: {err}") from None


def check_weights(request: SegmentRequest) -> None:
    """For ``real``: fail before loading anything if a weights file is missing."""
    if request.preset is not Preset.REAL:
        return
    from langseg import models
    from langseg.models.loading import clip_checkpoint

    try:
        if request.method.needs_self_attention:
            models.check_weights(request.preset, request.sd_path, request.clip_path,
                                 sd_config=request.sd_config)
        else:  # gem reads no Stable Diffusion weights
            clip_checkpoint(request.clip_path)
    except (FileNotFoundError, ValueError) as err:
        raise UsageError(with_flag_names(str(err))) from None


_CONFIG_KEY_FLAGS = {"models.sd_path": "--sd-path", "models.sd_config": "--sd-config",
                     "models.clip_path": "--clip-path"}


def with_flag_names(message: str) -> str:
    """Add the command-line names of the config keys (``models.sd_path``) a message mentions."""
    named = [f"{key} is {flag}" for key, flag in _CONFIG_KEY_FLAGS.items() if key in message]
    return message + (f" (on the command line {', '.join(named)})" if named else "")


def check_images_open(paths: list[Path]) -> None:
    """Fail before loading models if an image's header cannot be read (cheap: no decoding)."""
    from PIL import Image, UnidentifiedImageError

    for path in paths:
        try:
            with Image.open(path) as img:
                img.verify()
        except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as err:
            raise UsageError(f"image {path}: cannot be read ({err}); give an image file "
                             "Pillow can read (JPEG, PNG, ...)") from None


def load_user_image(path: Path):
    """RGB ``PIL.Image.Image`` with EXIF orientation applied; unreadable files are UsageErrors."""
    from langseg.data import load_image

    try:
        return load_image(path, exif_transpose=True)
    except FileNotFoundError:
        raise UsageError(f"image {path}: no such file") from None
    except ValueError as err:  # CorruptFileError and unsupported pixel modes
        raise UsageError(f"{err}; give an image file Pillow can read (JPEG, PNG, ...)") from None


# ---------------------------------------------------------------------------------- progress


def say(message: str) -> None:
    """One progress line on stderr (stdout holds only the result lines)."""
    print(f"langseg: {message}", file=sys.stderr, flush=True)


def format_seconds(seconds: float) -> str:
    from langseg.progress import format_seconds as fmt

    return fmt(seconds)


class ImageProgress:
    """Which image is running and the ETA: a tqdm bar on a terminal (postfix = image), else one
    stderr line per image (``langseg: [2/5] photo.jpg, ETA 1m20s``). Result lines go to
    stdout (through ``tqdm.write`` while a bar is shown, so they do not tear it)."""

    def __init__(self, total: int, stream=None, clock=time.monotonic) -> None:
        self.total, self.done, self.clock = total, 0, clock
        self.stream = sys.stderr if stream is None else stream
        self.start = clock()
        self.bar, self.image = None, Path()
        if _is_terminal(self.stream):
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="image", file=self.stream, desc="segment")

    def eta(self) -> str:
        if self.done == 0:
            return "?"
        elapsed = self.clock() - self.start
        return format_seconds(elapsed * (self.total - self.done) / self.done)

    def starting(self, image: Path) -> None:
        self.image = image
        if self.bar is not None:
            self.bar.set_postfix_str(image.name)
        else:
            print(f"langseg: [{self.done + 1}/{self.total}] {image}, ETA {self.eta()}",
                  file=self.stream, flush=True)

    def step(self, stage: str) -> None:
        """On a terminal, show the stage of the current image (a long one: SD on a CPU)."""
        if self.bar is not None:
            self.bar.set_postfix_str(f"{self.image.name}: {stage}")

    def finished(self, line: str) -> None:
        self.done += 1
        if self.bar is not None:
            from tqdm import tqdm

            self.bar.update(1)
            tqdm.write(line, file=sys.stdout)
        else:
            print(line, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
