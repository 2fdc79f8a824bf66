"""``python -m langseg``: the command line (see :mod:`langseg.cli`)."""

from langseg.cli import main

raise SystemExit(main())
