"""The warehouse probe and the recognition of storage failures (reelhouse.lakehouse.warehouse)."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from reelhouse.lakehouse import WarehouseUnavailable, probe_warehouse, storage_failure
from reelhouse.query.duckdb_engine import _s3_secret_sql


def test_storage_failures_are_recognized_by_errno_in_the_cause_chain_or_in_the_message():
    assert storage_failure(OSError(errno.ENOSPC, "No space left on device")) == "the disk is full"
    try:
        try:
            raise PermissionError(errno.EACCES, "Permission denied")
        except PermissionError as inner:
            raise RuntimeError("commit failed") from inner
    except RuntimeError as outer:
        assert storage_failure(outer) == "permission denied"
    # pyarrow reports the errno only in its message
    assert storage_failure(OSError("Error writing bytes to file. Detail: [errno 28] No space left on device")) == "the disk is full"
    assert storage_failure(OSError("[Errno 30] Read-only file system: '/w'")) == "it is on a read-only file system"
    assert storage_failure(ValueError("bad row")) is None
    assert storage_failure(OSError(errno.ENOENT, "No such file")) is None


def test_the_probe_writes_and_removes_its_object_in_a_local_warehouse(tmp_path: Path):
    probe_warehouse((tmp_path / "wh").as_uri())
    assert [p for p in (tmp_path / "wh").rglob("*") if p.is_file()] == []


def test_the_probe_names_the_warehouse_and_the_reason_when_it_cannot_write(tmp_path: Path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the warehouse folder should be")
    with pytest.raises(WarehouseUnavailable, match="cannot write to the warehouse .*not-a-folder.*Nothing was written"):
        probe_warehouse(blocker.as_uri())


def test_the_embedded_engine_reads_object_storage_with_the_writers_credentials():
    sql = _s3_secret_sql({"s3.endpoint": "http://127.0.0.1:9000", "s3.access-key-id": "k", "s3.secret-access-key": "s",
                          "s3.region": "eu-west-1"})
    assert "KEY_ID 'k'" in sql and "SECRET 's'" in sql and "REGION 'eu-west-1'" in sql
    assert "ENDPOINT '127.0.0.1:9000'" in sql and "USE_SSL false" in sql and "URL_STYLE 'path'" in sql
    aws = _s3_secret_sql({"s3.region": "us-east-1"})
    assert "PROVIDER credential_chain" in aws and "URL_STYLE 'vhost'" in aws and "ENDPOINT" not in aws
    tls = _s3_secret_sql({"s3.endpoint": "https://minio.internal", "s3.force-virtual-addressing": "true"})
    assert "USE_SSL true" in tls and "URL_STYLE 'vhost'" in tls
