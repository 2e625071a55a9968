"""The service's signing key: COOKIE_SECRET, or one kept in the data dir (pure file I/O)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bot.settings import SettingsError
from bot.signing import SECRET_FILE, Signer, load_key


def test_the_key_is_made_once_and_kept_in_the_data_dir(tmp_path: Path) -> None:
    first = load_key(None, tmp_path / "data")
    assert len(first) >= 32
    assert load_key(None, tmp_path / "data") == first  # a restart signs the same way
    path = tmp_path / "data" / SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == [SECRET_FILE]  # no temporary left
    assert load_key(None, tmp_path / "other") != first
    assert load_key("configured secret", tmp_path / "data") == b"configured secret"


def test_a_damaged_key_file_stops_the_start_naming_the_setting(tmp_path: Path) -> None:
    (tmp_path / SECRET_FILE).write_text("short")
    with pytest.raises(SettingsError, match="COOKIE_SECRET"):
        load_key(None, tmp_path)


def test_signatures_are_bound_to_key_purpose_and_message() -> None:
    signer = Signer(b"k" * 32)
    signature = signer.sign("job", "abc")
    assert signer.verify("job", "abc", signature)
    assert not signer.verify("media", "abc", signature)
    assert not signer.verify("job", "abd", signature)
    assert not Signer(b"j" * 32).verify("job", "abc", signature)
    for bad in (None, "", signature[:-1], signature + "x", "é" * 24):
        assert not signer.verify("job", "abc", bad)
