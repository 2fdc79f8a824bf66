"""Exit codes and the error type of the command line."""

from __future__ import annotations

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # shell convention for Ctrl-C (128 + SIGINT)


class UsageError(Exception):
    """Bad user input; the message says what to do. Ends the command with exit code 2."""
