"""In-memory files for downloads and exports: one PNG encoder, one zip writer."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Iterable

from PIL import Image


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
