"""The error raised for caches that must not be read (incomplete or made with other settings)."""

from __future__ import annotations


class CacheError(RuntimeError):
    """A cache store is incomplete, stale or in an unknown format; the message says what to do."""
