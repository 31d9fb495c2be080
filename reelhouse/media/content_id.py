"""Content identity of a title: a hash of its bytes, never of its name or timestamps."""

from __future__ import annotations

import hashlib
import os

_CHUNK_BYTES = 1 << 20
CONTENT_ID_HEX = 32


def content_id(path: str | os.PathLike[str]) -> str:
    """Return the title's content id: the first 32 hex digits of the SHA-256 of the file's bytes.

    The file is streamed in 1 MiB chunks, so memory stays flat for any file size.
    Renaming or touching a file never changes its id; changing any byte does.

    Args:
        path: file to hash.

    Returns:
        32 lowercase hex characters.

    Raises:
        OSError: the file cannot be read.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()[:CONTENT_ID_HEX]
