"""The package imports light, and its public names are pinned."""

import subprocess
import sys

import chatrec

HEAVY = ("torch", "transformers", "chromadb", "gradio", "sentence_transformers")


def test_import_chatrec_pulls_in_no_heavy_library() -> None:
    code = (
        f"import sys, chatrec; from chatrec import Settings, Recommendation; "
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_public_names() -> None:
    assert set(chatrec.__all__) == {
        "CatalogError",
        "ChatrecError",
        "ConfigError",
        "Engine",
        "GeneratorError",
        "InputError",
        "Recommendation",
        "Settings",
        "StoreCorruptedError",
        "StoreError",
        "StoreLockedError",
        "Turn",
        "UnknownItemError",
    }
    assert issubclass(chatrec.UnknownItemError, ValueError)


def test_settings_are_validated() -> None:
    import pytest

    with pytest.raises(chatrec.ConfigError):
        chatrec.Settings(embedder="nope")
    with pytest.raises(chatrec.ConfigError):
        chatrec.Settings(long_rate=2.0)
    assert chatrec.Settings(data_dir="/tmp/x").data_dir.name == "x"


def test_bundled_files_are_found_when_installed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """From a folder outside the checkout, the installed package must find its own catalog and templates."""
    import os

    import pytest

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def run(code: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env)

    if run("import chatrec").returncode != 0:
        pytest.skip("chatrec is not installed in this environment (pip install . installs it)")
    out = run(
        "import chatrec.catalog.resources as r; assert 'site-packages' in r.__file__, r.__file__; "
        "assert any(r.knowledge_dir().glob('*.jsonl')); assert any(r.prompts_dir().glob('*.j2')); "
        "import importlib.util as u, pathlib; assert u.find_spec('chatrec.serve.page'), 'the web app is packaged'; "
        "package = pathlib.Path(r.__file__).parents[1]; widget = package / 'serve' / 'static' / 'widget.js'; "
        "assert widget.is_file(), widget; assert any((package / 'ranking' / 'adapters').glob('*.npz')); "
        "print('ok')"
    )
    assert out.stdout.strip() == "ok", out.stderr
