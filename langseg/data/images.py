"""Reading images and masks from disk: strict, fully decoded, one RGB convention.

Conventions (decided here, relied on by every reader):

* **EXIF orientation is ignored by default.** Dataset masks are annotated on the stored pixel grid,
  so rotating the image by its EXIF tag would misalign it with its mask. The single-image CLI, which
  has no mask, may pass ``exif_transpose=True``.
* **Alpha is dropped** (RGBA, LA, PA and palette transparency): the stored colour channels are
  kept as they are; nothing is composited.
* **Grayscale** ("1", "L") is replicated to three channels; **palette** ("P") images are expanded
  through their palette; **CMYK** and **YCbCr** use Pillow's conversion (ICC profiles are ignored).
* **16-bit** images ("I;16*", and "I" holding values in 0..65535) are scaled to 8 bits by
  ``round(v / 257)``, so an 8-bit image stored as 16 bits (``v * 257``) comes back exactly.
* Files are decoded completely (``Image.load``); a truncated or corrupt file raises
  :class:`CorruptFileError`. Pillow's ``ImageFile.LOAD_TRUNCATED_IMAGES`` must stay ``False``
  (langseg never sets it); if another library set it, loading refuses to run.
* **JPEG corruption, and its limit.** Pillow's libjpeg decoder turns most damage inside the
  compressed data into wrong pixels without an error (libjpeg only warns). So every JPEG's
  marker structure is also checked (:func:`check_jpeg_structure`): inside the entropy-coded data
  a 0xFF byte may only be followed by 0x00, a restart marker or a real segment marker, and the
  file must end its last scan with EOI. Overwritten bytes that contain a 0xFF followed by
  anything else are found (random garbage of a few hundred bytes almost always does). Damage that
  keeps the structure valid (e.g. garbage without 0xFF bytes, or altered bits) is NOT
  detectable without a reference checksum: libjpeg decodes it to wrong pixels silently as well.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

MASK_MODES = ("P", "L", "I", "I;16", "I;16L", "I;16B")
_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I")
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, UnidentifiedImageError)


class CorruptFileError(ValueError):
    """An image or mask file exists but cannot be decoded completely (truncated, corrupt)."""

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"cannot decode {self.path}: {reason} (file truncated or corrupt?)")


_JPEG_SEGMENT_MARKERS = ({0xC4, 0xCC, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF, 0xFE}
                         | set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC} | set(range(0xE0, 0xF0)))


def check_jpeg_structure(data: bytes) -> str | None:
    """Why the JPEG bytes ``data`` are structurally corrupt, or ``None`` when they look sound.

    Walks the segments (SOI, length-prefixed segments, SOS followed by entropy-coded data, EOI).
    In entropy-coded data 0xFF must be followed by 0x00 (stuffing), RST0..7 (0xD0..0xD7), EOI
    or a segment marker that may follow a scan (DHT, DQT, DRI, SOS, COM, APPn, DNL, ...).
    Pure; cost linear in the file size.
    """
    n = len(data)
    if n < 4 or data[0] != 0xFF or data[1] != 0xD8:
        return "no JPEG start-of-image marker"
    pos = 2
    while pos < n:
        if data[pos] != 0xFF:
            return f"byte {pos}: expected a marker, found 0x{data[pos]:02X}"
        while pos < n and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= n:
            break
        marker = data[pos]
        pos += 1
        if marker == 0xD9:
            return _check_after_eoi(data, pos)
        if marker not in _JPEG_SEGMENT_MARKERS:
            return f"byte {pos - 2}: invalid marker 0xFF{marker:02X}"
        if pos + 2 > n:
            break
        length = (data[pos] << 8) | data[pos + 1]
        if length < 2 or pos + length > n:
            return f"byte {pos - 2}: segment 0xFF{marker:02X} of length {length} runs past the end"
        pos += length
        if marker == 0xDA:  # entropy-coded data up to the next real marker
            while True:
                pos = data.find(b"\xff", pos)
                if pos < 0 or pos + 1 >= n:
                    return "the compressed data ends without an end-of-image marker"
                follower = data[pos + 1]
                if follower == 0x00 or 0xD0 <= follower <= 0xD7:
                    pos += 2
                    continue
                if follower == 0xFF:
                    pos += 1
                    continue
                if follower != 0xD9 and follower not in _JPEG_SEGMENT_MARKERS:
                    return f"byte {pos}: invalid marker 0xFF{follower:02X} in the compressed data"
                break
    return "the file ends without an end-of-image marker"


def _check_after_eoi(data: bytes, end: int) -> str | None:
    """An EOI at ``end`` followed by more data that is not an appended image (SOI after padding)
    but again ends with EOI was garbage inside the compressed data."""
    rest = data[end:].lstrip(b"\x00\xff")
    if len(data) - end > 2 and not rest.startswith(b"\xd8") and data.endswith(b"\xff\xd9"):
        return (f"byte {end - 2}: an end-of-image marker followed by {len(data) - end} more bytes "
                "that end with another one")
    return None


def _open_fully(path: str | os.PathLike) -> Image.Image:
    """Open ``path`` and decode every pixel; the file handle is closed on return."""
    path = Path(path)
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise RuntimeError(
            "PIL.ImageFile.LOAD_TRUNCATED_IMAGES is True (set by another library); langseg needs "
            "it False so that truncated dataset files are detected instead of read as partly grey")
    if not path.is_file():
        raise FileNotFoundError(f"image file not found: {path}")
    try:
        with Image.open(path) as img:
            img.load()
            if img.format == "JPEG":
                problem = check_jpeg_structure(path.read_bytes())
                if problem:
                    raise CorruptFileError(path, f"corrupt JPEG data: {problem}")
            return img.copy()
    except FileNotFoundError:
        raise
    except _DECODE_ERRORS as err:
        raise CorruptFileError(path, f"{type(err).__name__}: {err}") from err


def _sixteen_bit_to_rgb(img: Image.Image, path: Path) -> Image.Image:
    """``I;16*``/``I`` grayscale -> 8-bit RGB by ``round(v / 257)``."""
    values = np.asarray(img, dtype=np.int64)
    if values.size and (values.min() < 0 or values.max() > 65535):
        raise ValueError(
            f"{path}: 32-bit integer image with values in [{values.min()}, {values.max()}]; "
            "only 0..65535 (16-bit) grayscale is supported")
    gray = np.rint(values / 257.0).astype(np.uint8)
    return Image.fromarray(np.repeat(gray[..., None], 3, axis=-1), mode="RGB")


def to_rgb(img: Image.Image, *, path: str | os.PathLike = "<image>") -> Image.Image:
    """Convert a decoded image of any supported mode to 8-bit RGB of the same size.

    Raises:
        ValueError: modes without a defined RGB meaning (e.g. "F" float images), naming ``path``.
    """
    if img.mode == "RGB":
        return img.copy()
    if img.mode in _SIXTEEN_BIT_MODES:
        return _sixteen_bit_to_rgb(img, Path(path))
    if img.mode in ("P", "PA"):
        return img.convert("RGBA").convert("RGB")
    if img.mode in ("1", "L", "LA", "RGBA", "RGBX", "RGBa", "CMYK", "YCbCr"):
        return img.convert("RGB")
    raise ValueError(
        f"{path}: unsupported image mode {img.mode!r}; supported: RGB, RGBA, L, LA, 1, P, PA, "
        "CMYK, YCbCr, I;16 and 16-bit I")


def load_image(path: str | os.PathLike, *, exif_transpose: bool = False) -> Image.Image:
    """Load an image file as 8-bit RGB, decoded completely.

    Args:
        path: image file (any format Pillow reads).
        exif_transpose: apply the EXIF orientation tag. ``False`` for dataset images (keeps them
            aligned with their masks); the single-image CLI may pass ``True``.

    Returns:
        ``PIL.Image.Image`` in mode "RGB", size = the stored pixel grid (or the EXIF-rotated grid).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        CorruptFileError: the file is truncated or not a decodable image.
        ValueError: unsupported pixel mode.
    """
    img = _open_fully(path)
    if exif_transpose:
        img = ImageOps.exif_transpose(img)
    return to_rgb(img, path=path)


def read_mask(path: str | os.PathLike) -> Image.Image:
    """Load a single-channel label mask as stored (palette indices, not colours), fully decoded.

    Returns:
        ``PIL.Image.Image`` in one of :data:`MASK_MODES`; pixel values are the stored label values.

    Raises:
        FileNotFoundError, CorruptFileError: as :func:`load_image`.
        ValueError: the mask is not single-channel (e.g. an RGB colour-coded mask).
    """
    img = _open_fully(path)
    if img.mode not in MASK_MODES:
        raise ValueError(
            f"{path}: label mask has mode {img.mode!r}; expected a single-channel label PNG "
            f"(modes {', '.join(MASK_MODES)}) whose pixel values are label ids, not colours")
    return img


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """``(width, height)`` of an image from its header only (no pixel decoding).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        CorruptFileError: the header cannot be read.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image file not found: {path}")
    try:
        with Image.open(path) as img:
            return img.size
    except _DECODE_ERRORS as err:
        raise CorruptFileError(path, f"{type(err).__name__}: {err}") from err
