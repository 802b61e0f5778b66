"""In-memory files: one PNG encoder and one zip writer for downloads, one reader for uploaded text."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Iterable

from PIL import Image

from .errors import InputError

MAX_UPLOAD_MB = 10  # the same limit as server.maxUploadSize in .streamlit/config.toml
ZIP_MAGIC = b"PK\x03\x04"


def png_bytes(image: Image.Image) -> bytes:
    """PNG with light compression: diagrams are flat colour, so level 1 is nearly as small and much faster."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def zip_bytes(entries: Iterable[tuple[str, bytes | Path]]) -> bytes:
    """A zip of (name in the archive, bytes or a file to copy), stored rather than deflated: what we zip (PNGs,
    model weights) barely compresses, and storing keeps zipping fast."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, content in entries:
            if isinstance(content, Path):
                archive.write(content, arcname=name)
            else:
                archive.writestr(name, content)
    return buffer.getvalue()


def decode_upload(data: bytes, *, name: str, wanted: str, max_mb: int = MAX_UPLOAD_MB) -> str:
    """The text of an uploaded file. ``InputError`` for empty, oversized, zip, binary or non-UTF-8 data, each
    message naming the file (``name``) and what to upload instead (``wanted``, e.g. 'a plain-text (.txt) file')."""
    if len(data) == 0:
        raise InputError(f"{name} is empty — upload {wanted}.")
    if len(data) > max_mb * 1_000_000:
        raise InputError(f"{name} is {len(data) / 1e6:.1f} MB; the limit is {max_mb} MB — upload a smaller file "
                         "(split it, or keep the part you need).")
    if data.startswith(ZIP_MAGIC):
        raise InputError(f"{name} is a zip archive — unzip it and upload {wanted} from inside it.")
    if b"\x00" in data[:65536]:
        raise InputError(f"{name} looks binary (it contains NUL bytes) — upload {wanted}, not a document or an "
                         "image.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(f"{name} is not UTF-8 text (undecodable byte at position {error.start}) — save it as "
                         "UTF-8 (in most editors: Save as… → Encoding: UTF-8) and upload it again.") from error
