"""Files: one PNG encoder and one zip writer for downloads, one reader for uploaded text, the check of a saved
model's files, and the one way we write folders of results to disk (checked before any work, written whole or not
at all)."""

from __future__ import annotations

import errno
import io
import json
import os
import re
import shutil
import uuid
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

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
        raise InputError(
            f"{name} is {len(data) / 1e6:.1f} MB; the limit is {max_mb} MB — upload a smaller file "
            "(split it, or keep the part you need)."
        )
    if data.startswith(ZIP_MAGIC):
        raise InputError(f"{name} is a zip archive — unzip it and upload {wanted} from inside it.")
    if b"\x00" in data[:65536]:
        raise InputError(f"{name} looks binary (it contains NUL bytes) — upload {wanted}, not a document or an image.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(
            f"{name} is not UTF-8 text (undecodable byte at position {error.start}) — save it as "
            "UTF-8 (in most editors: Save as… → Encoding: UTF-8) and upload it again."
        ) from error


LFS_POINTER = b"version https://git-lfs"


def file_problem(path: Path, *, text: bool = False, json_object: bool = False) -> str | None:
    """What makes ``path`` unusable as a file of a saved model, or None: a folder in its place, 0 bytes, a Git LFS
    pointer instead of the content, and when asked, ``text`` that is not UTF-8 or JSON that is not one object."""
    if not path.is_file():
        return "a folder, not a file"
    size = path.stat().st_size
    if size == 0:
        return "it is empty: 0 bytes"
    if size < 1024 and path.read_bytes().startswith(LFS_POINTER):
        return "a Git LFS pointer, not the file itself: run 'git lfs pull' in the folder"
    if not (text or json_object):
        return None
    try:
        content = path.read_bytes().decode("utf-8-sig")
        data = json.loads(content) if json_object else {}
    except UnicodeDecodeError as error:
        return f"not UTF-8 text at byte {error.start}"
    except json.JSONDecodeError as error:
        return f"not valid JSON: {error}"
    return None if isinstance(data, dict) else f"a JSON {type(data).__name__} instead of an object"


# Output folders. A command that writes results (diagrams, a fine-tuned model) first calls check_output_folder, before
# any slow work, then writes inside staged_output: into a hidden folder that is moved into place only when every file
# is written, and removed when anything fails — so a full disk never leaves a half-written set that looks finished.
PARTIAL = ".mlm-explorer-partial-"
_FREE_SPACE = "free some space on that disk or choose a folder on another one"
_WRITABLE = "choose a folder you can write to"


def check_output_folder(
    out: str | Path, *, what: str, replace_marker: str | None = None, needed_bytes: int = 0
) -> Path:
    """Make sure ``what`` (e.g. 'the attention diagrams') can be written to the folder ``out``; return it as a Path.

    ``out`` may be missing (it and its parents are created when written) or an existing folder: any folder when
    ``replace_marker`` is None (our files are added to it), otherwise only an empty one or one holding that file (an
    earlier result, replaced whole). Nothing is created; a probe folder is made and removed where the files will go.
    Raises ``InputError`` naming ``out`` and the fix: a file in the way, a place that cannot be written (permissions,
    read-only, /proc), or less free space than ``needed_bytes``.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(
            _cannot(what, out, "it is a file, not a folder", "give the path of a folder (a new one is created)")
        )
    if replace_marker and out.is_dir() and any(out.iterdir()) and not (out / replace_marker).is_file():
        raise InputError(
            _cannot(
                what,
                out,
                "it is a folder with other files in it",
                f"choose a new or empty folder (an earlier result there, with its {replace_marker}, would be replaced)",
            )
        )
    existing = next(folder for folder in (out.absolute(), *out.absolute().parents) if folder.exists())
    if not existing.is_dir():
        raise InputError(
            _cannot(
                what,
                out,
                f"'{existing}' is a file, so no folder can be made inside it",
                "choose a path whose folders are folders",
            )
        )
    probe = existing / f"{PARTIAL}probe-{uuid.uuid4().hex[:8]}"
    try:
        probe.mkdir()
        probe.rmdir()
    except OSError as error:
        raise InputError(_cannot(what, out, *_reason_and_fix(error, existing))) from error
    free = shutil.disk_usage(existing).free
    if free < needed_bytes:
        raise InputError(
            _cannot(
                what,
                out,
                f"it needs about {_megabytes(needed_bytes)} and only {_megabytes(free)} are free there",
                _FREE_SPACE,
            )
        )
    return out


@contextmanager
def staged_output(out: str | Path, *, what: str, replace: bool = False) -> Iterator[Path]:
    """A hidden, empty folder to write ``what`` into; when the block ends its files are moved into ``out`` (created if
    missing; with ``replace``, what ``out`` held before is removed), and when it fails the folder is removed and
    ``out`` is left as it was. Write errors (full disk, read-only, no permission) become ``InputError``.

    The staging folder sits next to a new ``out`` and is renamed to it (one atomic step), or inside an existing
    ``out`` (the same file system even if ``out`` is a mount point) and its files are renamed up one by one — renames
    within one folder need no space, so only a crash between two of them could leave a mixed set.
    """
    out = Path(out)
    token = uuid.uuid4().hex[:8]
    try:
        if out.is_dir():
            staging = out / f"{PARTIAL}{token}"
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            staging = out.parent / f".{out.name}{PARTIAL}{token}"
        staging.mkdir()
    except OSError as error:
        raise InputError(_cannot(what, out, *_reason_and_fix(error, out))) from error
    try:
        yield staging
        _move_into_place(staging, out, replace=replace, token=token)
    except BaseException as error:  # a failed write, a bug or Ctrl-C alike: nothing half-written stays behind
        shutil.rmtree(staging, ignore_errors=True)
        cause = os_error(error)
        if cause is None:
            raise
        raise InputError(_cannot(what, out, *_reason_and_fix(cause, out))) from error


def _move_into_place(staging: Path, out: Path, *, replace: bool, token: str) -> None:
    if not out.exists():
        os.rename(staging, out)
        return
    old = out / f"{PARTIAL}old-{token}"
    if replace:
        old.mkdir()
        for entry in out.iterdir():
            if entry not in (staging, old):
                os.rename(entry, old / entry.name)
    for entry in staging.iterdir():
        os.replace(entry, out / entry.name)
    staging.rmdir()
    shutil.rmtree(old, ignore_errors=True)


def os_error(error: BaseException) -> OSError | None:
    """The operating-system error behind a failed read or write, or None when ``error`` is anything else (a bug must
    not pass for a full disk). Rust-backed libraries do not raise ``OSError``: safetensors raises its
    ``SafetensorError`` and tokenizers a plain ``Exception``, both with Rust's text '… (os error 28)'."""
    if isinstance(error, OSError):
        return error
    found = re.search(r"\(os error (\d+)\)", str(error)) if isinstance(error, Exception) else None
    if found is None:
        return None
    number = int(found.group(1))
    return OSError(number, os.strerror(number))


def _reason_and_fix(error: OSError, where: Path) -> tuple[str, str]:
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return "the disk is full", _FREE_SPACE
    if error.errno == errno.EROFS:
        return f"'{where}' is on a read-only file system", _WRITABLE
    if error.errno in (errno.EACCES, errno.EPERM):
        return f"no permission to write in '{where}'", _WRITABLE
    return f"'{where}' cannot be written to ({error.strerror or error})", _WRITABLE


def _cannot(what: str, out: Path, reason: str, fix: str) -> str:
    return f"Cannot write {what} to '{out}': {reason} — {fix}."


def _megabytes(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:.2f} MB" if n_bytes < 10_000_000 else f"{n_bytes / 1e6:,.0f} MB"


def read_input_file(path: str | Path, *, fix: str) -> bytes:
    """The bytes of a file named on the command line; ``InputError`` naming it, with ``fix``, when it cannot be read
    (a folder, no permission, an I/O error)."""
    path = Path(path)
    try:
        return path.read_bytes()
    except OSError as error:
        raise InputError(f"Cannot read '{path}': {error.strerror or error} — {fix}.") from error
