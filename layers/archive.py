"""The layer's zip and sizes: a deterministic zip, bytes per tree and per distribution.

Deterministic means: sorted entries, fixed timestamps and permissions, no directory
entries; the same tree always gives the same bytes, hence the same CDK asset hash.
"""

from __future__ import annotations

import hashlib
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path

from layers.requirements_pins import dist_infos

__all__ = [
    "ZIP_DATE_TIME",
    "ZIP_FILE_MODE",
    "iter_files",
    "package_sizes",
    "sha256_file",
    "tree_bytes",
    "write_deterministic_zip",
]

ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
ZIP_FILE_MODE = stat.S_IFREG | 0o644


def iter_files(root: Path) -> Iterator[Path]:
    """The regular files under ``root`` (symlinks to files included), in no set order."""
    for path in root.rglob("*"):
        if path.is_file():
            yield path


def tree_bytes(path: Path) -> int:
    """Bytes of the regular files at or under ``path``."""
    if path.is_symlink() or path.is_file():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def write_deterministic_zip(src: Path, zip_path: Path, prefix: str = "") -> int:
    """Zip the files under ``src`` as ``<prefix><relative posix path>``; returns the file count.

    Entries are sorted, dated 1980-01-01 00:00, mode 0644, made-by Unix, no directory
    entries: the same tree always gives the same bytes. Every file goes in, bytecode
    (``__pycache__/*.pyc``) included.
    """
    entries = sorted((prefix + p.relative_to(src).as_posix(), p) for p in iter_files(src))
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for arcname, path in entries:
            info = zipfile.ZipInfo(arcname, date_time=ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so external_attr holds st_mode
            info.external_attr = ZIP_FILE_MODE << 16
            zf.writestr(info, path.read_bytes(), compresslevel=9)
    return len(entries)


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def package_sizes(site: Path) -> dict[str, int]:
    """Unzipped bytes per distribution (files mapped through each dist-info RECORD).

    A file counts for the distribution whose RECORD names its top-level entry; bytecode
    compiled after installation counts for its package (or top-level module).
    """
    owner: dict[str, str] = {}
    for name, info in dist_infos(site).items():
        owner[info.name] = name
        record = info / "RECORD"
        if record.is_file():
            for line in record.read_text(encoding="utf-8").splitlines():
                top = line.split(",", 1)[0].split("/", 1)[0]
                if top and top not in ("..", "bin") and not top.endswith(".dist-info"):
                    owner.setdefault(top, name)
    sizes: dict[str, int] = {}
    for path in iter_files(site):
        parts = path.relative_to(site).parts
        top = parts[0]
        if top == "__pycache__" and len(parts) == 2:  # bytecode of a top-level module
            top = parts[1].split(".", 1)[0] + ".py"
        dist = owner.get(top, f"(unowned) {top}")
        sizes[dist] = sizes.get(dist, 0) + path.stat().st_size
    return dict(sorted(sizes.items(), key=lambda item: (-item[1], item[0])))
