"""`policyc bundle`: the packs, their manifest and their source files in one wheel.

The wheel holds a package `policy_dsl_packs` (the pack modules, `index.json`, and under
`sources/` the rule, framework and plugin files the manifest names, to rebuild from years
later) and registers it under the entry point group `policy_dsl.packs`, so that an installed
bundle is found by `load_pack(name)` without a directory. The runtime also reads a bundle in
place (`load_pack(name, packs_dir=Path("….whl"))`), checking every file against the wheel's
RECORD and every pack against the manifest. The same packs give the same bytes: entries are
sorted and carry a fixed time stamp.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from . import __version__
from .runtime.packs import (
    ENTRY_POINT_GROUP,
    MANIFEST_FILE,
    PackRefused,
    directory_catalogue,
    verify_catalogue,
)

DISTRIBUTION = "policy_dsl_packs"
PACKAGE = "policy_dsl_packs"
_TIMESTAMP = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say: no build time in the bytes
_VERSION = re.compile(r"\d+(\.\d+)*(\+[a-z0-9]+(\.[a-z0-9]+)*)?")


class BundleError(Exception):
    """The packs cannot be bundled (a source file differs from the manifest, a bad version)."""


@dataclass(frozen=True, slots=True)
class Bundle:
    file_name: str  # policy_dsl_packs-<version>-py3-none-any.whl
    data: bytes
    packs: tuple[str, ...]
    sources: tuple[str, ...]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def make_bundle(packs_dir: Path, root: Path, version: str | None = None) -> Bundle:
    """The wheel of the packs in `packs_dir` (each verified first) with the source files the
    manifest names, read from `root` and checked against the manifest's hashes."""
    catalogue = directory_catalogue(packs_dir)
    refused = [str(result) for _, result in verify_catalogue(catalogue)
               if isinstance(result, PackRefused)]
    if refused:
        raise PackRefused("not bundled; some packs fail verification:\n  "
                          + "\n  ".join(refused))
    manifest = (packs_dir / MANIFEST_FILE).read_bytes()
    version = version or "0+" + hashlib.sha256(manifest).hexdigest()[:12]
    if not _VERSION.fullmatch(version):
        raise BundleError(f"bundle version {version!r} is not a version such as 2026.1 or "
                          "0+3f2a9c1b7d4e")
    files = {f"{PACKAGE}/__init__.py": _package_docstring().encode("utf-8"),
             f"{PACKAGE}/{MANIFEST_FILE}": manifest}
    sources: dict[str, bytes] = {}
    for entry in catalogue.entries:
        files[f"{PACKAGE}/{entry.module_file}"] = catalogue.read(entry.module_file)
        for source in entry.sources:
            sources[source.path] = _source(root, source.path, source.sha256, entry.name)
    for path, data in sources.items():
        files[f"{PACKAGE}/sources/{path}"] = data
    requires = sorted({entry.runtime_requires for entry in catalogue.entries})
    info = f"{DISTRIBUTION}-{version}.dist-info"
    names = ", ".join(entry.name for entry in catalogue.entries)
    files[f"{info}/METADATA"] = (
        "Metadata-Version: 2.1\n"
        f"Name: {DISTRIBUTION}\n"
        f"Version: {version}\n"
        f"Summary: policy_dsl rule packs: {names}\n"
        + "".join(f"Requires-Dist: policy-dsl{r}\n" for r in requires)).encode("utf-8")
    files[f"{info}/WHEEL"] = (
        "Wheel-Version: 1.0\n"
        f"Generator: policyc {__version__}\n"
        "Root-Is-Purelib: true\n"
        "Tag: py3-none-any\n").encode()
    files[f"{info}/entry_points.txt"] = \
        f"[{ENTRY_POINT_GROUP}]\n{PACKAGE} = {PACKAGE}\n".encode()
    record = "".join(f"{name},sha256={_wheel_hash(data)},{len(data)}\n"
                     for name, data in sorted(files.items()))
    files[f"{info}/RECORD"] = (record + f"{info}/RECORD,,\n").encode("utf-8")
    return Bundle(f"{DISTRIBUTION}-{version}-py3-none-any.whl", _zip(files),
                  tuple(entry.name for entry in catalogue.entries), tuple(sorted(sources)))


def _source(root: Path, path: str, sha256: str, pack: str) -> bytes:
    relative = PurePosixPath(path)
    if relative.is_absolute() or ".." in relative.parts:
        raise BundleError(f"pack {pack}: the manifest names the source {path}, outside the "
                          "project directory")
    try:
        data = (root / relative).read_bytes()
    except FileNotFoundError:
        raise BundleError(f"pack {pack}: its source {root / relative} is missing (give the "
                          "project directory with --root)") from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise BundleError(f"pack {pack}: {path} differs from the file it was built from "
                          f"(SHA-256 {sha256}); run `policyc build` first")
    return data


def _package_docstring() -> str:
    return ('"""Rule packs bundled by `policyc bundle`: load them with\n'
            "policy_dsl.runtime.load_pack(name), which verifies each pack against index.json.\n"
            'Do not import the pack modules directly."""\n')


def _wheel_hash(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _zip(files: dict[str, bytes]) -> bytes:
    """The files in a zip, in sorted order with the dist-info last (as wheels have it)."""
    buffer = io.BytesIO()
    order = sorted(files, key=lambda name: (".dist-info/" in name, name.endswith("/RECORD"),
                                            name))
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in order:
            info = zipfile.ZipInfo(name, _TIMESTAMP)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    return buffer.getvalue()
