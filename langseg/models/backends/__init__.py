"""Training-free dense CLIP backends over any open_clip ViT, one module per backend.

A backend module defines ``BACKEND``: a frozen dataclass implementing
:class:`~langseg.models.backends.base.Backend` (``name``, ``source``, ``resolution``,
``visual_tokens``). Modules of this package are found by name, so adding a backend is adding
one file. Importing this package does not import torch.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from collections.abc import Mapping
from functools import cache

from langseg.models.backends.base import (
    Backend,
    ClipModel,
    backend_cosines,
    single_template_text,
    text_embeddings,
)

DEFAULT_BACKEND = "gem"


@cache
def _registry() -> dict[str, type]:
    found = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        cls = getattr(module, "BACKEND", None)
        if cls is not None:
            found[cls.name] = cls
    return dict(sorted(found.items()))


def backend_names() -> list[str]:
    """Names of every available backend, sorted."""
    return list(_registry())


def backend_class(name: str) -> type:
    """The backend dataclass registered as ``name`` (ValueError naming the choices)."""
    registry = _registry()
    if name not in registry:
        raise ValueError(f"unknown CLIP backend {name!r}; available: {', '.join(registry)}")
    return registry[name]


def backend_settings(name: str) -> dict:
    """Default settings of a backend (its dataclass fields): ``{"resolution": 448, ...}``."""
    return {f.name: f.default for f in dataclasses.fields(backend_class(name))}


def make_backend(name: str, settings: Mapping | None = None) -> Backend:
    """Build backend ``name`` with ``settings`` overriding its defaults.

    Raises:
        ValueError: unknown backend or setting (names the allowed ones).
    """
    cls = backend_class(name)
    settings = dict(settings or {})
    unknown = sorted(set(settings) - set(backend_settings(name)))
    if unknown:
        raise ValueError(f"backend {name!r} has no setting(s) {unknown}; allowed: "
                         f"{sorted(backend_settings(name))}")
    return cls(**settings)


__all__ = ["DEFAULT_BACKEND", "Backend", "ClipModel", "backend_class", "backend_cosines",
           "backend_names", "backend_settings", "make_backend", "single_template_text",
           "text_embeddings"]
