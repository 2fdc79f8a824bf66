"""The ``langseg`` argument parser: subcommands ``segment`` and ``info``, ``--version``.

Parsing only: values are checked further in :mod:`langseg.cli.requests`. A new subcommand is a
``sub.add_parser(...)`` here plus its ``run`` function.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from langseg import __version__
from langseg.params import Device, Fidelity, Method, Preset

SINGLE_IMAGE_METHODS: tuple[Method, ...] = tuple(m for m in Method if not m.uses_ground_truth)
OVERLAY_SUFFIX = ".langseg.png"  # default overlay: photo.jpg -> photo.langseg.png
LABELS_SUFFIX = ".labels.png"  # default label map: photo.jpg -> photo.labels.png


def build_parser() -> argparse.ArgumentParser:
    """The ``langseg`` argument parser with the ``segment`` and ``info`` subcommands."""
    from langseg.cli.run import run_info, run_segment

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true",
                        help="show the full traceback instead of a one-line error")
    parser = argparse.ArgumentParser(
        prog="langseg", description="Zero-shot segmentation from Stable Diffusion and CLIP "
        "attention. The full experiments run with Snakemake (see README.md).")
    parser.add_argument("--version", action="version", version=f"langseg {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    info = sub.add_parser("info", parents=[common], help="list presets, methods and choices")
    info.set_defaults(run=run_info)
    seg = sub.add_parser("segment", parents=[common],
                         help="segment images with your classes (models loaded once)",
                         formatter_class=argparse.RawDescriptionHelpFormatter,
                         description=segment_description())
    add_segment_arguments(seg)
    seg.set_defaults(run=run_segment)
    return parser


def default_temperatures() -> tuple[float, float]:
    """``(without, with background)``: the temperatures of ``MethodSettings.for_dataset`` for
    a dataset without the background rule and for VOC (their one home)."""
    from langseg.methods.settings import MethodSettings
    from langseg.params import DatasetKind

    return (MethodSettings.for_dataset(DatasetKind.CONTEXT).temperature,
            MethodSettings.for_dataset(DatasetKind.VOC2012).temperature)


def segment_description() -> str:
    plain, voc = default_temperatures()
    return f"""\
Segment each IMAGE into the classes you name, without training. IMAGE may be a folder (its
images, not recursive). The models load once for all images.

Outputs (PNG): an overlay (the image with the coloured labels blended on top and a legend of
the classes found beside it) and a label map (palette PNG of the image's size; pixel value =
class index in the order you gave them; with --background 0 = background, your classes from 1).
By default both go next to each image: photo.jpg -> photo{OVERLAY_SUFFIX}, photo{LABELS_SUFFIX}.
--out-dir DIR puts them in DIR instead; for one image, --out / --labels-out name the files
(only the ones named are written). Existing outputs are overwritten; inputs never are.

Class-name files: one class per line; a line "person, person in shirt" gives a class several
names (synonyms), and the class scores the best of its names. Blank lines and lines starting
with # are ignored; UTF-8 (a BOM is fine).

Temperature: the softmax over classes of the CLIP patch-text cosines uses s = {plain} (the
report's choice for every dataset but VOC); with --background it uses s = {voc} (VOC, together
with its background rule).

The tiny and sd15-random presets have random weights: their labels are meaningless; use them
to try the command.

examples:
  python -m langseg segment photo.jpg --classes "cat,dog,sofa"
  python -m langseg segment photos/ --classes-file classes.txt --out-dir segmented/
  python -m langseg segment photo.jpg --classes-file classes.txt --background \\
      --labels-out labels.png --sd-path ~/weights/sd15 --clip-path ~/weights/b16_400m.pt
"""


def add_segment_arguments(seg: argparse.ArgumentParser) -> None:
    """Arguments of ``segment`` (types only; validation in :mod:`langseg.cli.requests`)."""
    from langseg.pipeline.single_image import BACKENDS, DEFAULT_BACKEND

    seg.add_argument("images", type=Path, nargs="+", metavar="IMAGE",
                     help="image files (JPEG, PNG, ...) or folders of images")
    given = seg.add_mutually_exclusive_group(required=True)
    given.add_argument("--classes", help='comma-separated class names, e.g. "cat,dog,sofa"')
    given.add_argument("--classes-file", type=Path,
                       help="text file, one class per line, synonyms separated by commas")
    seg.add_argument("--method", default=Method.AGGGEM.value,
                     help="one of: " + ", ".join(m.value for m in SINGLE_IMAGE_METHODS)
                     + " (default: agggem)")
    seg.add_argument("--backend", default=DEFAULT_BACKEND, choices=sorted(BACKENDS),
                     help=f"CLIP patch-text backend (default: {DEFAULT_BACKEND})")
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
    plain, voc = default_temperatures()
    seg.add_argument("--temperature", type=positive_float, default=None,
                     help=f"softmax temperature s of the class scores (default: {plain}, with "
                     f"--background {voc})")
    seg.add_argument("--background", action="store_true",
                     help='add the VOC-style background rule as label 0 "background"')
    seg.add_argument("--seed", type=int, default=0, help="diffusion noise seed (default: 0)")
    seg.add_argument("--out", type=Path, help="one image: write the overlay here (.png)")
    seg.add_argument("--labels-out", type=Path,
                     help="one image: write the label map here (.png)")
    seg.add_argument("--out-dir", type=Path, help=f"existing folder for the outputs of every "
                     f"image (NAME{OVERLAY_SUFFIX}, NAME{LABELS_SUFFIX})")


def positive_float(text: str) -> float:
    """argparse type: a number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value
