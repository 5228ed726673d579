"""The package imports light, and its public names are pinned."""

import subprocess
import sys

import chatrec

HEAVY = ("torch", "transformers", "chromadb", "gradio", "sentence_transformers")


def test_import_chatrec_pulls_in_no_heavy_library() -> None:
    code = f"import sys, chatrec; from chatrec import Settings, Recommendation; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_public_names() -> None:
    assert set(chatrec.__all__) == {
        "CatalogError", "ChatrecError", "ConfigError", "Engine", "InputError", "Recommendation", "Settings",
        "StoreCorruptedError", "StoreError", "StoreLockedError", "Turn", "UnknownItemError",
    }
    assert issubclass(chatrec.UnknownItemError, ValueError)


def test_settings_are_validated() -> None:
    import pytest

    with pytest.raises(chatrec.ConfigError):
        chatrec.Settings(embedder="nope")
    with pytest.raises(chatrec.ConfigError):
        chatrec.Settings(short_rate=2.0)
    assert chatrec.Settings(data_dir="/tmp/x").data_dir.name == "x"
