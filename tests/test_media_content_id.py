"""content_id(): a hash of the bytes only."""

from __future__ import annotations

import hashlib
import os
import shutil

from reelhouse.media import content_id
from tests.media_fixtures import truth_clip


def test_same_bytes_same_id_under_rename_and_touch(tmp_path) -> None:
    src, _ = truth_clip()
    a = tmp_path / "a.mp4"
    shutil.copyfile(src, a)
    original = content_id(a)
    assert original == content_id(src)
    b = a.rename(tmp_path / "renamed_title.mkv")
    os.utime(b, (1_000_000, 1_000_000))
    assert content_id(b) == original


def test_one_changed_byte_changes_the_id(tmp_path) -> None:
    src, _ = truth_clip()
    data = bytearray(src.read_bytes())
    data[len(data) // 2] ^= 0x01
    changed = tmp_path / "changed.mp4"
    changed.write_bytes(bytes(data))
    assert content_id(changed) != content_id(src)


def test_is_first_32_hex_of_sha256_across_chunks(tmp_path) -> None:
    payload = os.urandom(3 * (1 << 20) + 123)  # spans several 1 MiB chunks
    p = tmp_path / "blob.bin"
    p.write_bytes(payload)
    assert content_id(p) == hashlib.sha256(payload).hexdigest()[:32]
