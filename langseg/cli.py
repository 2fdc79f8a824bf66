"""Command line: ``python -m langseg segment IMAGE --classes "cat,dog,sofa"`` and ``info``.

``segment`` runs one image through the same code as the workflow: the extraction functions of
:mod:`langseg.models` and :func:`langseg.methods.segment_image`; only the class list comes from the
user instead of a dataset. Bad input (a missing or unreadable image, an empty or repeated class
name, a method that needs ground truth, missing weights) ends with a one-line message that says
what to do and exit code 2; ``--debug`` shows the traceback instead.

Heavy imports (numpy, PIL, torch, the models) happen inside the commands, so ``--help`` and
``info`` start fast and never import torch.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from langseg.params import Device, Fidelity, Method, Preset

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # shell convention for Ctrl-C (128 + SIGINT)
MAX_LABELS = 256  # a palette PNG holds values 0..255
BACKGROUND = "background"
SINGLE_IMAGE_METHODS: tuple[Method, ...] = tuple(m for m in Method if not m.uses_ground_truth
                                                  and not m.needs_sd_zs)


class UsageError(Exception):
    """Bad user input; the message says what to do. Ends the command with exit code 2."""


@dataclass(frozen=True)
class SegmentRequest:
    """Validated ``segment`` arguments.

    ``label_names`` is the label space of the output: index = pixel value of ``--labels-out``
    (``"background"`` first when ``background`` is set, then the user's classes in order).
    """

    image: Path
    classes: tuple[str, ...]
    method: Method
    preset: Preset
    fidelity: Fidelity
    device: Device
    temperature: float | None  # None: 0.1 with background (as VOC), else 0.01 (MethodSettings)
    background: bool
    seed: int
    sd_path: Path | None
    sd_config: Path | None
    clip_path: Path | None
    out: Path | None
    labels_out: Path | None
    backend: str = "gem"  # dense CLIP backend (langseg.models.backends)

    @property
    def label_names(self) -> tuple[str, ...]:
        return ((BACKGROUND,) if self.background else ()) + self.classes


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m langseg`` and the ``langseg`` script; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # argparse already printed usage and the reason
        return int(stop.code or 0)
    try:
        return args.run(args)
    except UsageError as err:
        if args.debug:
            raise
        print(f"langseg {args.command}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"langseg {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def build_parser() -> argparse.ArgumentParser:
    """The ``langseg`` argument parser with the ``segment`` and ``info`` subcommands."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true",
                        help="show the full traceback instead of a one-line error")
    parser = argparse.ArgumentParser(
        prog="langseg", description="Zero-shot segmentation from Stable Diffusion and CLIP "
        "attention. The full experiments run with Snakemake (see README.md).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    info = sub.add_parser("info", parents=[common], help="list presets, methods and choices")
    info.set_defaults(run=_run_info)
    seg = sub.add_parser("segment", parents=[common], help="segment one image with your classes",
                         formatter_class=argparse.RawDescriptionHelpFormatter,
                         description=_SEGMENT_DESCRIPTION)
    _add_segment_arguments(seg)
    seg.set_defaults(run=_run_segment)
    return parser


_SEGMENT_DESCRIPTION = """\
Segment IMAGE into the classes you name, without training.

Outputs: --out writes the image with the coloured label map on top and a legend of the classes
found; --labels-out writes a palette PNG of the image's size whose pixel values are class indices
in the order you gave them (with --background: 0 = background, then your classes from 1).

Temperature: the softmax over classes of the CLIP patch-text cosines uses s = 0.01 (CLIP's logit
scale; the report's choice for every dataset but VOC). The report uses s = 0.1 only on VOC,
together with its background rule, so --background defaults to 0.1.

examples:
  python -m langseg segment photo.jpg --classes "cat,dog,sofa" --out overlay.png
  python -m langseg segment photo.jpg --classes-file classes.txt --background \\
      --labels-out labels.png --sd-path ~/weights/sd15 --clip-path ~/weights/b16_400m.pt
"""


def _add_segment_arguments(seg: argparse.ArgumentParser) -> None:
    seg.add_argument("image", type=Path, help="the image (JPEG, PNG, ...)")
    given = seg.add_mutually_exclusive_group(required=True)
    given.add_argument("--classes", help='comma-separated class names, e.g. "cat,dog,sofa"')
    given.add_argument("--classes-file", type=Path,
                       help="text file, one class name per line; blank lines and # comments "
                       "are ignored")
    seg.add_argument("--method", default=Method.AGGGEM.value,
                     help="one of: " + ", ".join(m.value for m in SINGLE_IMAGE_METHODS)
                     + " (default: agggem)")
    seg.add_argument("--preset", default=Preset.REAL.value, choices=[p.value for p in Preset],
                     help="model weights: real (needs --sd-path/--clip-path or the Hugging Face "
                     "cache), or seeded random tiny / sd15-random for trying things out "
                     "(default: real)")
    seg.add_argument("--sd-path", type=Path, help="real: Stable Diffusion 1.5 diffusers folder "
                     "or a single .safetensors file")
    seg.add_argument("--sd-config", type=Path, help="real + .safetensors: a local diffusers "
                     "folder with the SD 1.5 configs")
    seg.add_argument("--clip-path", type=Path, help="real: MetaCLIP ViT-B/16 checkpoint "
                     "(default: the Hugging Face cache)")
    seg.add_argument("--device", default=Device.AUTO.value, choices=[d.value for d in Device],
                     help="auto picks CUDA when available (default: auto)")
    seg.add_argument("--fidelity", default=Fidelity.REPORT.value,
                     choices=[f.value for f in Fidelity],
                     help="report: the report's code with its quirks; corrected: quirks fixed "
                     "(default: report)")
    seg.add_argument("--temperature", type=_positive_float, default=None,
                     help="softmax temperature s of the class scores (default: 0.01, with "
                     "--background 0.1)")
    seg.add_argument("--background", action="store_true",
                     help='add the VOC-style background rule as label 0 "background"')
    seg.add_argument("--seed", type=int, default=0, help="diffusion noise seed (default: 0)")
    seg.add_argument("--backend", default="gem",
                     help="dense CLIP backend: gem (the report's), maskclip, sclip, clearclip, "
                     "naclip, or any module of langseg/models/backends (default: gem)")
    seg.add_argument("--out", type=Path, help="write the overlay with a legend here (PNG)")
    seg.add_argument("--labels-out", type=Path, help="write the label map here (palette PNG)")


def parse_backend(name: str) -> str:
    """A backend name of ``langseg.models.backends``; UsageError listing them otherwise."""
    from langseg.models.backends import backend_names

    if name not in backend_names():
        raise UsageError(f"--backend {name}: not a backend; use one of "
                         f"{', '.join(backend_names())}")
    return name


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _run_info(args: argparse.Namespace) -> int:
    """Print presets, single-image methods, workflow-only methods and fidelities."""
    gt_methods = [m.value for m in Method if m.uses_ground_truth]
    print("presets:    " + ", ".join(p.value for p in Preset))
    print("methods:    " + ", ".join(m.value for m in SINGLE_IMAGE_METHODS))
    print("workflow only (need ground-truth classes): " + ", ".join(gt_methods))
    print("fidelity:   " + ", ".join(f.value for f in Fidelity))
    print("devices:    " + ", ".join(d.value for d in Device))
    return EXIT_OK


# ----------------------------------------------------------------------------------------------
# Validation of the segment arguments (pure: no model, no image decoding)


def parse_method(text: str) -> Method:
    """The :class:`Method` named ``text`` if it runs on one image without ground truth."""
    allowed = ", ".join(m.value for m in SINGLE_IMAGE_METHODS)
    try:
        method = Method(text)
    except ValueError:
        gt_only = ", ".join(m.value for m in Method if m.uses_ground_truth)
        raise UsageError(f"unknown method {text!r}; choose one of: {allowed} "
                         f"({gt_only} need ground-truth classes and run in the workflow)") from None
    if method.uses_ground_truth:
        raise UsageError(f"{method.value} needs ground-truth classes; use the workflow "
                         f"(see README.md), or choose one of: {allowed}")
    return method


def split_class_list(text: str) -> tuple[str, ...]:
    """Class names from ``--classes "cat, dog,sofa"`` (surrounding spaces stripped)."""
    if not text.strip():
        return ()
    names = tuple(name.strip() for name in text.split(","))
    for position, name in enumerate(names, start=1):
        if not name:
            raise UsageError(f"--classes {text!r}: class {position} is empty; remove the extra "
                             "comma")
    return names


def read_class_file(path: Path) -> tuple[str, ...]:
    """Class names from a text file: one per line, blank lines and ``#`` comment lines ignored."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise UsageError(f"--classes-file {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"--classes-file {path}: cannot read it as UTF-8 text ({err})") from None
    names = []
    for number, line in enumerate(lines, start=1):
        name = line.strip()
        if not name or name.startswith("#"):
            continue
        if "," in name:
            raise UsageError(f"--classes-file {path}, line {number}: {name!r} has a comma; give "
                             "one class name per line (synonyms are not supported)")
        names.append(name)
    return tuple(names)


def check_label_names(names: Sequence[str], source: str) -> None:
    """Fail unless ``names`` is non-empty, free of repeats (ignoring case) and fits a PNG."""
    if not names:
        raise UsageError(f"{source} gives no class names; name at least one class, "
                         'e.g. --classes "cat,dog"')
    seen: dict[str, str] = {}
    repeated = []
    for name in names:
        key = name.casefold()
        if key in seen:
            repeated.append(name)
        seen.setdefault(key, name)
    if repeated:
        hint = " (--background adds it already)" if BACKGROUND in {r.casefold()
                                                                   for r in repeated} else ""
        raise UsageError(f"{source} names {', '.join(map(repr, repeated))} more than once"
                         f"{hint}; give every class once")
    if len(names) > MAX_LABELS:
        raise UsageError(f"{source} gives {len(names)} labels; at most {MAX_LABELS} fit a "
                         "label PNG")


def check_output_path(path: Path | None, flag: str) -> None:
    """Fail early (before any model loads) if ``path`` cannot be written as a PNG."""
    if path is None:
        return
    if path.suffix.lower() != ".png":
        raise UsageError(f"{flag} {path}: the file name must end in .png")
    if not path.parent.is_dir():
        raise UsageError(f"{flag} {path}: folder {path.parent} does not exist; create it first")


def make_request(args: argparse.Namespace) -> SegmentRequest:
    """Validate the parsed ``segment`` arguments (image readability is checked when loading)."""
    if args.classes is not None:
        classes, source = split_class_list(args.classes), "--classes"
    else:
        classes, source = read_class_file(args.classes_file), f"--classes-file {args.classes_file}"
    background = bool(args.background)
    check_label_names(((BACKGROUND,) if background else ()) + classes, source)
    if not args.image.is_file():
        raise UsageError(f"image {args.image}: no such file")
    check_output_path(args.out, "--out")
    check_output_path(args.labels_out, "--labels-out")
    return SegmentRequest(
        image=args.image, classes=classes, method=parse_method(args.method),
        preset=Preset(args.preset), fidelity=Fidelity(args.fidelity), device=Device(args.device),
        temperature=args.temperature, background=background, seed=args.seed, sd_path=args.sd_path,
        sd_config=args.sd_config, clip_path=args.clip_path, out=args.out,
        labels_out=args.labels_out, backend=parse_backend(args.backend))


# ----------------------------------------------------------------------------------------------
# The segment command: models -> extraction -> methods.segment_image -> files (workflow code path)


@dataclass(frozen=True)
class SegmentResult:
    """One segmented image.

    ``image``: ``PIL.Image.Image`` RGB as loaded (EXIF orientation applied);
    ``labels``: ``(H, W) int16`` at the image's size, values index ``SegmentRequest.label_names``.
    """

    image: object
    labels: object


def _run_segment(args: argparse.Namespace) -> int:
    from langseg.cli_output import label_palette, summary_line, write_label_png, write_overlay_png

    request = make_request(args)
    start = time.perf_counter()
    result = segment_request(request)
    palette = label_palette(len(request.classes), background=request.background)
    if request.labels_out is not None:
        write_label_png(result.labels, palette, request.labels_out)
    if request.out is not None:
        write_overlay_png(result.image, result.labels, request.label_names, palette, request.out)
    print(summary_line(request.method, result.labels, request.label_names,
                       time.perf_counter() - start))
    return EXIT_OK


def segment_request(request: SegmentRequest) -> SegmentResult:
    """Load the image and models, extract attention, run :func:`methods.segment_image`."""
    from langseg.cli_output import resize_nearest
    from langseg.methods import ImageInputs, segment_image

    image = _load_user_image(request.image)
    device = _resolve_device(request.device)
    _check_weights(request)
    cosines = _extract_cosines(request, image, device)
    attention = _extract_self_attention(request, image, device)
    inputs = ImageInputs(cosines=cosines, self_attention=attention)
    labels = segment_image(request.method, inputs, method_settings(request))
    return SegmentResult(image=image, labels=resize_nearest(labels, image.height, image.width))


def _load_user_image(path: Path):
    """RGB ``PIL.Image.Image`` with EXIF orientation applied; unreadable files are UsageErrors."""
    from langseg.data import load_image

    try:
        return load_image(path, exif_transpose=True)
    except FileNotFoundError:
        raise UsageError(f"image {path}: no such file") from None
    except ValueError as err:  # CorruptFileError and unsupported pixel modes
        raise UsageError(f"{err}; give an image file Pillow can read (JPEG, PNG, ...)") from None


def _resolve_device(device: Device) -> str:
    """``"cuda"`` or ``"cpu"`` (``auto`` picks CUDA when torch sees a GPU)."""
    from langseg.models.loading import resolve_device

    try:
        return str(resolve_device(device))
    except ValueError as err:  # cuda asked for, none visible
        raise UsageError(f"--device {device.value}: {err}") from None


def _check_weights(request: SegmentRequest) -> None:
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
        raise UsageError(_with_flag_names(str(err))) from None


_CONFIG_KEY_FLAGS = {"models.sd_path": "--sd-path", "models.sd_config": "--sd-config",
                     "models.clip_path": "--clip-path"}


def _with_flag_names(message: str) -> str:
    """Add the command-line names of the config keys (``models.sd_path``) a message mentions."""
    named = [f"{key} is {flag}" for key, flag in _CONFIG_KEY_FLAGS.items() if key in message]
    return message + (f" (on the command line {', '.join(named)})" if named else "")


def _extract_cosines(request: SegmentRequest, image, device: str):
    """``(C, g, g) float32`` raw backend (GEM by default) cosines of ``image`` vs the classes."""
    from langseg import models

    _say(f"{request.backend} patch-text cosines ({request.preset.value} CLIP on {device})")
    clip = models.load_clip(request.preset, clip_path=request.clip_path, device=device)
    backend = models.make_backend(request.backend)
    return models.backend_cosines(clip, backend, [image], list(request.classes))[0]


def _extract_self_attention(request: SegmentRequest, image, device: str):
    """``(N, N) float32`` aggregated empty-prompt SD self-attention, or None if not needed."""
    if not request.method.needs_self_attention:
        return None
    from langseg import models

    _say(f"Stable Diffusion self-attention ({request.preset.value} SD on {device})")
    sd = models.load_sd(request.preset, sd_path=request.sd_path, sd_config=request.sd_config,
                        device=device)
    return models.extract_self_attention(sd, [image], seed=request.seed,
                                         fidelity=request.fidelity)[0]


def _say(message: str) -> None:
    """One progress line on stderr (stdout holds only the summary line)."""
    print(f"langseg: {message} ...", file=sys.stderr, flush=True)


def method_settings(request: SegmentRequest):
    """``MethodSettings``: the VOC defaults (s = 0.1, background rule) with ``--background``, else
    those of the datasets without a background rule (s = 0.01); ``--temperature`` overrides s.

    Why: the report uses s = 0.1 only on VOC, where its background rule (offset 0.8, tuned with
    s = 0.1) adds channel 0; every other dataset uses s = 0.01 (CLIP's logit scale 100)."""
    from langseg.methods import MethodSettings
    from langseg.params import DatasetKind

    kind = DatasetKind.VOC2012 if request.background else DatasetKind.CONTEXT
    return MethodSettings.for_dataset(kind, {"temperature": request.temperature})


# ----------------------------------------------------------------------------------------------
# Outputs (pure array helpers and PNG writers)
