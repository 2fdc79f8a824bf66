"""langseg: zero-shot, training-free language-based segmentation from SD and CLIP attention.

The package is importable without torch; model code lives in :mod:`langseg.models`.
"""

__version__ = "0.1.0"
