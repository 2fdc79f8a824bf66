"""Command line: ``python -m langseg segment IMAGE... --classes "cat,dog,sofa"`` and ``info``.

Modules: :mod:`~langseg.cli.parser` (arguments, help), :mod:`~langseg.cli.requests` (validation
of the arguments into a :class:`~langseg.cli.requests.SegmentRequest`, before any model loads),
:mod:`~langseg.cli.run` (orchestration: models once, then every image through
:class:`langseg.pipeline.single_image.ImageSegmenter`, the workflow's code path) and
:mod:`~langseg.cli.output` (label PNG, summary line). Bad input ends with a one-line message that
says what to do and exit code 2; ``--debug`` shows the traceback instead.

Heavy imports (torch, the models) happen inside the commands, so ``--help``, ``--version`` and
``info`` start fast and never import torch.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from langseg.cli.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UsageError
from langseg.cli.parser import build_parser

__all__ = ["EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "UsageError", "build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m langseg`` and the ``langseg`` script; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # argparse already printed usage and the reason (or --version)
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
