"""The warehouse as storage: whether it can be written, and storage failures told plainly.

A warehouse that cannot be written (read-only mount, missing permission, full disk, unreachable or
refused bucket) fails every write of every title. :func:`probe_warehouse` finds that out before a run
starts, by writing and deleting one small object at the warehouse root, and says why in one line.
:func:`storage_failure` recognizes the same conditions in an exception raised mid-run.
"""

from __future__ import annotations

import errno
import uuid
from collections.abc import Mapping

#: errno values that mean "the storage refuses writes", with what to tell the user.
STORAGE_ERRNOS: dict[int, str] = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exhausted",
    errno.EROFS: "it is on a read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
}

#: Probe size in bytes: big enough that a full disk refuses it, small enough to cost nothing.
PROBE_BYTES = 64 * 1024


class WarehouseUnavailable(RuntimeError):
    """The warehouse cannot be written; nothing was written by the operation that found out."""


def storage_failure(exc: BaseException) -> str | None:
    """Why ``exc`` (or any exception in its cause chain) is a storage failure, or None if it is not.

    Recognizes ``OSError``s whose errno is in :data:`STORAGE_ERRNOS` and pyarrow/pyiceberg errors that
    carry the same condition only in their message (``[errno 28] No space left on device``).
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in STORAGE_ERRNOS:
            return STORAGE_ERRNOS[current.errno]
        why = storage_failure_in_text(str(current))
        if why:
            return why
        current = current.__cause__ or current.__context__
    return None


def storage_failure_in_text(text: str) -> str | None:
    """Why an error message (``... [errno 28] No space left on device``, ``Access Denied``) is a storage
    failure, or None: for errors known only by their text (a Spark task's, a serialized Dagster error)."""
    text = text.lower()
    for code, why in STORAGE_ERRNOS.items():
        if f"[errno {code}]" in text or (code == errno.EACCES and "access denied" in text):
            return why
    return None


def probe_warehouse(warehouse_uri: str, io_properties: Mapping[str, str] | None = None) -> None:
    """Write and delete a :data:`PROBE_BYTES` object under ``<warehouse>/.reelhouse-probe/``.

    Works for ``file://`` and object-storage warehouses alike (pyiceberg FileIO).

    Raises:
        WarehouseUnavailable: the object could not be written, with the reason and the location.
    """
    from pyiceberg.io import load_file_io

    path = f"{warehouse_uri.rstrip('/')}/.reelhouse-probe/{uuid.uuid4().hex}"
    io = load_file_io(dict(io_properties or {}), path)
    try:
        with io.new_output(path).create(overwrite=True) as out:
            out.write(b"\0" * PROBE_BYTES)
    except Exception as exc:  # any failure to write: say where and why, not how
        why = storage_failure(exc) or f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        raise WarehouseUnavailable(
            f"cannot write to the warehouse {warehouse_uri}: {why}. Nothing was written; free space, fix the "
            "mount or permissions, or point REELHOUSE_WAREHOUSE_URI elsewhere, then run again."
        ) from exc
    try:
        io.delete(path)
    except Exception:  # noqa: BLE001  (a probe left behind is harmless; the write itself worked)
        pass
