"""Media locations: turning a ``file://`` or object-storage URI into a local file PyAV can open."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlparse


def localize(uri: str, cache_dir: Path | None = None, io_properties: Mapping[str, str] | None = None) -> Path:
    """A local path for ``uri``.

    ``file://`` URIs and plain paths are returned as they are. Anything else (``s3://``, ``gs://``, ...)
    is downloaded once through pyiceberg's FileIO into ``cache_dir`` (default: the system temp folder),
    keyed by the URI, and the cached copy is returned. Downloads land under a temporary name first, so a
    crash never leaves a partial file under the final name.
    """
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return Path(unquote(parsed.path))
    root = cache_dir or Path(tempfile.gettempdir()) / "reelhouse-media-cache"
    target = root / hashlib.sha256(uri.encode()).hexdigest()[:32] / Path(parsed.path).name
    if target.exists():
        return target
    from pyiceberg.io import load_file_io

    target.parent.mkdir(parents=True, exist_ok=True)
    io = load_file_io(dict(io_properties or {}), uri)
    with io.new_input(uri).open() as src, tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as dst:
        shutil.copyfileobj(src, dst)
    Path(dst.name).replace(target)
    return target
