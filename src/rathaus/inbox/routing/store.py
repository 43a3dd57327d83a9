"""Saving and loading a routing model without pickle.

A model file is a zip with three members: ``manifest.json`` (format and version, SHA-256 of the other two,
optionally an HMAC-SHA256 signature), ``model.json`` (taxonomy, classes, chosen combinations, temperatures,
thresholds, training info) and ``arrays.npz`` (TF-IDF vocabularies and idf, regression coefficients) read with
``numpy.load(allow_pickle=False)``. Loading a file therefore never runs code from it (unlike pickle/joblib); the
worst a forged file can do is hold wrong numbers. Against that: every member's hash is checked (a file edited
by hand or damaged is refused), and with a ``key`` (e.g. a key file of the platform, ``rathaus.core.keyfiles``)
the manifest carries an HMAC that a forger without the key cannot produce – ``read_model_file(path, key)`` refuses
unsigned or wrongly signed files.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import zipfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rathaus.core.errors import RathausError
from rathaus.core.files import atomic_write

FORMAT = "rathaus-inbox-routing"
FORMAT_VERSION = 1
MEMBERS = ("model.json", "arrays.npz")
MAX_MEMBER_BYTES = 1 << 30  # 1 GiB uncompressed: a larger member is refused (zip bomb)


class ModelFileError(RathausError):
    """The routing model file is missing, damaged, altered, unsigned where a signature is required, or of
    another format version (HTTP 422)."""

    status, code, title = 422, "unreadable-routing-model", "Not a usable routing model file"


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def _canonical(manifest: dict[str, Any]) -> bytes:
    body = {k: v for k, v in manifest.items() if k != "hmac"}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")


def write_model_file(path: Path, meta: dict[str, Any], arrays: dict[str, Any], key: bytes | None = None) -> Path:
    """Write ``meta`` (JSON) and ``arrays`` (numpy) to ``path`` atomically (a temporary file renamed); ``key``
    adds an HMAC signature."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    members = {"model.json": json.dumps(meta, ensure_ascii=False, indent=1, default=str).encode("utf-8"),
               "arrays.npz": buffer.getvalue()}
    manifest: dict[str, Any] = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "rathaus": _version("rathaus"),
        "scikit_learn": _version("scikit-learn"), "numpy": np.__version__,
        "sha256": {n: hashlib.sha256(b).hexdigest() for n, b in members.items()}, "signed": key is not None,
    }
    if key is not None:
        manifest["hmac"] = hmac.new(key, _canonical(manifest), hashlib.sha256).hexdigest()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, indent=1))
        for name, data in members.items():
            zf.writestr(name, data)
    return atomic_write(Path(path), archive.getvalue())


def _read_members(path: Path) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            expected = {"manifest.json", *MEMBERS}
            if names != expected:
                raise ModelFileError(f"{path.name}: unexpected content {sorted(names)}; a routing model has "
                                     f"{sorted(expected)}")
            for info in zf.infolist():
                if info.file_size > MAX_MEMBER_BYTES:
                    raise ModelFileError(f"{path.name}: member {info.filename} too large ({info.file_size} bytes)")
            return {n: zf.read(n) for n in expected}
    except FileNotFoundError:
        raise ModelFileError(f"routing model not found: {path}") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelFileError(f"{path.name}: not a routing model file: {exc}") from None


def read_model_file(path: Path, key: bytes | None = None) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
    """``meta`` and ``arrays`` of a file written by ``write_model_file``. ``ModelFileError`` when the file is not
    one, was altered (hash mismatch), lacks or fails the signature while ``key`` is given, or has another format
    version."""
    path = Path(path)
    members = _read_members(path)
    try:
        manifest = json.loads(members["manifest.json"])
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{path.name}: manifest unreadable: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFileError(f"{path.name}: not a routing model (format {manifest.get('format')!r})"
                             if isinstance(manifest, dict) else f"{path.name}: manifest is not an object")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(f"{path.name}: format version {manifest.get('format_version')!r}, this rathaus reads "
                             f"{FORMAT_VERSION}: retrain the model (rathaus inbox train)")
    if key is not None:
        expected = hmac.new(key, _canonical(manifest), hashlib.sha256).hexdigest()
        if not manifest.get("signed") or not hmac.compare_digest(str(manifest.get("hmac", "")), expected):
            raise ModelFileError(f"{path.name}: signature missing or wrong – the file was not written by this "
                                 "installation or was altered; refused")
    hashes = manifest.get("sha256") or {}
    for name in MEMBERS:
        if hashes.get(name) != hashlib.sha256(members[name]).hexdigest():
            raise ModelFileError(f"{path.name}: {name} does not match its SHA-256 in the manifest – the file was "
                                 "altered or damaged; refused")
    try:
        meta = json.loads(members["model.json"])
        with np.load(io.BytesIO(members["arrays.npz"]), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception as exc:  # hashes matched, yet unreadable: a foreign or broken writer
        raise ModelFileError(f"{path.name}: model content unreadable: {exc.__class__.__name__}: {exc}") from None
    if not isinstance(meta, dict):
        raise ModelFileError(f"{path.name}: model.json is not an object")
    return meta, arrays
