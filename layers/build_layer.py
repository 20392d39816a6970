#!/usr/bin/env python3
"""Build the Lambda layer of third-party runtime dependencies, without Docker.

The inference Lambda runs on the Python 3.12 runtime (Amazon Linux 2023, glibc 2.34) on
``arm64`` or ``x86_64``. Instead of building inside a Lambda-like container, pip is asked
for binary wheels of the target platform (``--platform manylinux_2_X_<machine>`` for every
glibc 2.17..2.34, ``--only-binary=:all:``, ``--python-version``), so a layer for either
architecture can be built on any host. ``--no-deps``: layers/requirements.txt pins the whole
dependency closure, and the build verifies that closure against the wheels' metadata.

Steps: pip into ``<tmp>/python/`` (the layout Lambda expects under /opt), strip what the
runtime never imports (measured per rule), zip deterministically (sorted entries, fixed
timestamps and permissions: same inputs -> same bytes -> same CDK asset hash), write
``layer.json``, then rename ``<tmp>`` to ``<build_root>/<key>`` atomically. The key hashes the
requirements bytes, the architecture, the Python version and this file, so a changed pin or
strip rule rebuilds and anything else reuses the cached zip.

    python layers/build_layer.py [--arch arm64|x86_64] [--python 3.12] [--print-path] [--check]

``import_check`` imports the built layer in an isolated interpreter of the target Python
version (host architecture only) and runs an InferenceSession and a FastAPI/Mangum request.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import glob
import hashlib
import importlib.util
import json
import os
import platform
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

LAYERS_DIR = Path(__file__).resolve().parent
REPO_ROOT = LAYERS_DIR.parent
CDK_JSON = REPO_ROOT / "cdk.json"
DEFAULT_REQUIREMENTS = LAYERS_DIR / "requirements.txt"
DEFAULT_BUILD_ROOT = LAYERS_DIR / "build"
DEFAULT_PYTHON_VERSION = "3.12"
DEFAULT_ARCHITECTURE = "arm64"

# Lambda architecture -> the machine name in wheel platform tags.
ARCHITECTURES: dict[str, str] = {"arm64": "aarch64", "x86_64": "x86_64"}
# Amazon Linux 2023 (the python3.12+ runtimes) ships glibc 2.34; manylinux2014 is glibc 2.17.
LAMBDA_GLIBC_MINOR = 34
OLDEST_MANYLINUX_GLIBC_MINOR = 17

# Dependencies that the pinned distributions declare but the layer leaves out on purpose.
INTENTIONALLY_OMITTED: dict[str, str] = {
    "boto3": "provided by the Lambda Python runtime",
    "botocore": "provided by the Lambda Python runtime",
    "s3transfer": "provided by the Lambda Python runtime",
    "flatbuffers": "onnxruntime: only its stripped tools import it",
    "packaging": "onnxruntime: only its stripped tools import it",
    "protobuf": "onnxruntime: only its stripped tools import it",
}
FORBIDDEN = frozenset({"boto3", "botocore", "s3transfer"})

# What import_check imports: the layer must provide all of these after stripping.
REQUIRED_IMPORTS = ("numpy", "onnxruntime", "orjson", "fastapi", "mangum", "aws_lambda_powertools")

ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
ZIP_FILE_MODE = stat.S_IFREG | 0o644
KEEP_OTHER_KEYS_PER_ARCH = 1  # besides the current key: switching back is then free
STALE_TMP_SECONDS = 3600
MB = 1_000_000

_PIN_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)$")


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- configuration


def servekit_context(cdk_json: Path = CDK_JSON) -> dict[str, Any]:
    if not cdk_json.is_file():
        return {}
    context = json.loads(cdk_json.read_text(encoding="utf-8")).get("context", {})
    servekit = context.get("servekit", {})
    return servekit if isinstance(servekit, dict) else {}


def default_architecture(cdk_json: Path = CDK_JSON) -> str:
    """The inference architecture configured in cdk.json (``servekit.inference.architecture``)."""
    inference = servekit_context(cdk_json).get("inference", {})
    arch = (
        inference.get("architecture", DEFAULT_ARCHITECTURE) if isinstance(inference, dict) else None
    )
    arch = arch or DEFAULT_ARCHITECTURE
    if arch not in ARCHITECTURES:
        raise ValueError(
            f"cdk.json servekit.inference.architecture={arch!r}: not in {sorted(ARCHITECTURES)}"
        )
    return str(arch)


def default_model_path(cdk_json: Path = CDK_JSON) -> Path:
    """``models/artifacts/<default_model>/model.onnx`` (may not exist yet)."""
    inference = servekit_context(cdk_json).get("inference", {})
    name = inference.get("default_model") if isinstance(inference, dict) else None
    return REPO_ROOT / "models" / "artifacts" / str(name or "digits-logreg") / "model.onnx"


def host_architecture() -> str | None:
    """The Lambda architecture name of this machine, or None when it is neither."""
    machine = platform.machine().lower()
    return {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(
        machine
    )


def platform_tags(arch: str) -> list[str]:
    """Wheel platform tags runnable on Lambda's glibc 2.34, newest first.

    pip does not expand ``manylinux_2_34`` to older glibc tags (it only expands
    manylinux2014 -> 2010 -> 1), and numpy/onnxruntime publish ``manylinux_2_27``/``_2_28``
    wheels, so every glibc minor from 2.34 down to 2.17 is listed explicitly.
    """
    machine = ARCHITECTURES[arch]
    tags = [
        f"manylinux_2_{minor}_{machine}"
        for minor in range(LAMBDA_GLIBC_MINOR, OLDEST_MANYLINUX_GLIBC_MINOR - 1, -1)
    ]
    return [*tags, f"manylinux2014_{machine}"]


# --------------------------------------------------------------------------- requirements


def parse_requirements(text: str) -> dict[str, str]:
    """``{canonical name: version}`` from a fully pinned requirements file.

    Raises ValueError on anything that is not ``name==version`` (comments and blank lines
    aside), on duplicates, and on boto3/botocore (the Lambda runtime provides them).
    """
    pins: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _PIN_RE.match(line)
        if match is None:
            raise ValueError(f"requirements line {number}: not pinned as name==version: {raw!r}")
        name = canonicalize_name(match.group(1))
        if name in FORBIDDEN:
            raise ValueError(
                f"requirements line {number}: {name} is provided by the Lambda runtime"
            )
        if name in pins:
            raise ValueError(f"requirements line {number}: {name} pinned twice")
        pins[name] = match.group(2)
    return pins


def marker_environment(arch: str, python_version: str) -> dict[str, str]:
    """PEP 508 marker values of the Lambda runtime (for evaluating Requires-Dist)."""
    env = {key: str(value) for key, value in default_environment().items()}
    env.update(
        {
            "python_version": python_version,
            "python_full_version": f"{python_version}.0",
            "implementation_name": "cpython",
            "implementation_version": f"{python_version}.0",
            "platform_python_implementation": "CPython",
            "sys_platform": "linux",
            "platform_system": "Linux",
            "os_name": "posix",
            "platform_machine": ARCHITECTURES[arch],
            "extra": "",
        }
    )
    return env


def missing_dependencies(
    requires: dict[str, list[str]], arch: str, python_version: str
) -> dict[str, list[str]]:
    """Unmet non-extra requirements: ``{dist: [requirement, ...]}``.

    ``requires`` maps each shipped distribution (canonical name) to its Requires-Dist lines.
    INTENTIONALLY_OMITTED names do not count as missing.
    """
    env = marker_environment(arch, python_version)
    shipped = set(requires)
    missing: dict[str, list[str]] = {}
    for dist, lines in sorted(requires.items()):
        for line in lines:
            req = Requirement(line)
            if req.marker is not None and not req.marker.evaluate(env):
                continue
            name = canonicalize_name(req.name)
            if name not in shipped and name not in INTENTIONALLY_OMITTED:
                missing.setdefault(dist, []).append(str(req))
    return missing


# --------------------------------------------------------------------------- cache key


def layer_key(
    requirements: bytes | Path,
    arch: str,
    python_version: str = DEFAULT_PYTHON_VERSION,
    builder: bytes | None = None,
) -> str:
    """``<arch>-py<version>-<sha256 prefix>`` over requirements, arch, version and this file."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"architecture {arch!r} not in {sorted(ARCHITECTURES)}")
    req_bytes = requirements.read_bytes() if isinstance(requirements, Path) else requirements
    builder_bytes = Path(__file__).read_bytes() if builder is None else builder
    digest = hashlib.sha256()
    for part in (req_bytes, arch.encode(), python_version.encode(), builder_bytes):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return f"{arch}-py{python_version}-{digest.hexdigest()[:24]}"


# --------------------------------------------------------------------------- stripping


def tree_bytes(path: Path) -> int:
    """Bytes of the regular files at or under ``path``."""
    if path.is_symlink() or path.is_file():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


@dataclass(frozen=True)
class StripRule:
    """Paths (under the layer's ``python/`` dir) that the Lambda runtime never needs."""

    name: str
    reason: str
    select: Callable[[Path], list[Path]]


def _existing(site: Path, *relpaths: str) -> list[Path]:
    return [site / rel for rel in relpaths if (site / rel).exists()]


def _select_bytecode(site: Path) -> list[Path]:
    dirs = [p for p in site.rglob("__pycache__") if p.is_dir()]
    files = [p for p in site.rglob("*.py[co]") if p.is_file() and "__pycache__" not in p.parts]
    return dirs + files


def _select_console_scripts(site: Path) -> list[Path]:
    return _existing(site, "bin")


def _select_test_suites(site: Path) -> list[Path]:
    # Only dirs *inside* a package (never a top-level package that happens to be "tests").
    return [
        p
        for p in site.rglob("tests")
        if p.is_dir() and len(p.relative_to(site).parts) >= 2 and ".dist-info" not in str(p)
    ]


def _select_type_stubs(site: Path) -> list[Path]:
    stub_packages = [p for p in site.glob("*-stubs") if p.is_dir()]
    stubs = [p for p in site.rglob("*.pyi") if p.is_file()]
    return stub_packages + stubs


def _select_numpy_f2py(site: Path) -> list[Path]:
    return _existing(site, "numpy/f2py")


def _select_native_build_support(site: Path) -> list[Path]:
    dirs = _existing(
        site,
        "numpy/_core/include",
        "numpy/_core/lib",
        "numpy/random/lib",
        "numpy/random/_examples",
        "numpy/_pyinstaller",
    )
    pxd = [p for p in site.rglob("*.pxd") if p.is_file()]
    return dirs + pxd


def _select_onnxruntime_tools(site: Path) -> list[Path]:
    return _existing(
        site,
        "onnxruntime/tools",
        "onnxruntime/transformers",
        "onnxruntime/quantization",
        "onnxruntime/datasets",
        "onnxruntime/backend",
    )


def _select_onnxruntime_c_api(site: Path) -> list[Path]:
    """``libonnxruntime.so.*``: the C/C++ API library, which the Python binding does not load.

    Removed only when no other binary of the package names its soname (a DT_NEEDED entry
    would have to), so a future wheel that links it keeps it.
    """
    capi = site / "onnxruntime" / "capi"
    libs = sorted(p for p in capi.glob("libonnxruntime.so*") if p.is_file())
    if not libs:
        return []
    others = [p for p in capi.glob("*.so*") if p.is_file() and p not in libs]
    for other in others:
        if b"libonnxruntime.so" in other.read_bytes():
            return []
    return list(libs)


STRIP_RULES: tuple[StripRule, ...] = (
    StripRule(
        "bytecode",
        "__pycache__/*.pyc: built for the host Python, /opt is read-only",
        _select_bytecode,
    ),
    StripRule(
        "console-scripts",
        "bin/: console scripts with the build host's shebang",
        _select_console_scripts,
    ),
    StripRule(
        "test-suites", "tests/ dirs inside packages (numpy/*/tests, ...)", _select_test_suites
    ),
    StripRule(
        "type-stubs",
        "*.pyi and *-stubs packages: type checkers only (py.typed kept)",
        _select_type_stubs,
    ),
    StripRule(
        "numpy-f2py",
        "numpy.f2py: Fortran wrapper generator, lazily imported only",
        _select_numpy_f2py,
    ),
    StripRule(
        "native-build-support",
        "C headers, static libs, pkg-config, Cython .pxd, PyInstaller hooks",
        _select_native_build_support,
    ),
    StripRule(
        "onnxruntime-tools",
        "onnxruntime tools/transformers/quantization/datasets/backend: not imported by onnxruntime",
        _select_onnxruntime_tools,
    ),
    StripRule(
        "onnxruntime-c-api",
        "onnxruntime/capi/libonnxruntime.so.*: C API library, not linked by the Python binding",
        _select_onnxruntime_c_api,
    ),
)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def strip_tree(site: Path, rules: Sequence[StripRule] = STRIP_RULES) -> dict[str, int]:
    """Apply ``rules`` in order to ``site``; returns the bytes each rule removed."""
    removed: dict[str, int] = {}
    for rule in rules:
        total = 0
        for path in rule.select(site):
            if not (path.exists() or path.is_symlink()):  # inside something already removed
                continue
            total += tree_bytes(path)
            _remove(path)
        removed[rule.name] = total
    return removed


# --------------------------------------------------------------------------- zip


def _iter_files(root: Path) -> Iterator[Path]:
    for path in root.rglob("*"):
        if path.is_file():
            yield path


def write_deterministic_zip(src: Path, zip_path: Path, prefix: str = "") -> int:
    """Zip the files under ``src`` as ``<prefix><relative posix path>``; returns the file count.

    Entries are sorted, dated 1980-01-01 00:00, mode 0644, made-by Unix, no directory
    entries: the same tree always gives the same bytes.
    """
    entries = sorted((prefix + p.relative_to(src).as_posix(), p) for p in _iter_files(src))
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for arcname, path in entries:
            info = zipfile.ZipInfo(arcname, date_time=ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so external_attr holds st_mode
            info.external_attr = ZIP_FILE_MODE << 16
            zf.writestr(info, path.read_bytes(), compresslevel=9)
    return len(entries)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------- installed tree


def _dist_infos(site: Path) -> dict[str, Path]:
    """``{canonical name: dist-info dir}`` of what pip installed into ``site``."""
    found: dict[str, Path] = {}
    for info in sorted(site.glob("*.dist-info")):
        name = info.name[: -len(".dist-info")].rsplit("-", 1)[0]
        found[canonicalize_name(name)] = info
    return found


def _metadata_field(info: Path, field: str) -> list[str]:
    values: list[str] = []
    for line in (info / "METADATA").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            break  # end of headers, start of the long description
        key, _, value = line.partition(":")
        if key == field:
            values.append(value.strip())
    return values


def _verify_installed(site: Path, pins: dict[str, str]) -> dict[str, list[str]]:
    infos = _dist_infos(site)
    versions = {name: _metadata_field(info, "Version")[0] for name, info in infos.items()}
    if versions != pins:
        extra = sorted(set(versions) - set(pins))
        lacking = sorted(set(pins) - set(versions))
        wrong = sorted(n for n in set(pins) & set(versions) if pins[n] != versions[n])
        raise RuntimeError(
            f"pip installed the wrong set: extra={extra} missing={lacking} version={wrong}"
        )
    return {name: _metadata_field(info, "Requires-Dist") for name, info in infos.items()}


def package_sizes(site: Path) -> dict[str, int]:
    """Unzipped bytes per distribution (files mapped through each dist-info RECORD)."""
    owner: dict[str, str] = {}
    for name, info in _dist_infos(site).items():
        owner[info.name] = name
        record = info / "RECORD"
        if record.is_file():
            for line in record.read_text(encoding="utf-8").splitlines():
                top = line.split(",", 1)[0].split("/", 1)[0]
                if top and top not in ("..", "bin") and not top.endswith(".dist-info"):
                    owner.setdefault(top, name)
    sizes: dict[str, int] = {}
    for path in _iter_files(site):
        top = path.relative_to(site).parts[0]
        dist = owner.get(top, f"(unowned) {top}")
        sizes[dist] = sizes.get(dist, 0) + path.stat().st_size
    return dict(sorted(sizes.items(), key=lambda item: (-item[1], item[0])))


# --------------------------------------------------------------------------- build


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    with lock_path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _pip_install(requirements: Path, site: Path, arch: str, python_version: str) -> None:
    cmd = [
        sys.executable, "-m", "pip", "install",
        "--disable-pip-version-check", "--no-input", "--no-compile", "--no-warn-script-location",
        "--no-deps", "--only-binary=:all:",
        "--implementation", "cp", "--python-version", python_version,
        *[arg for tag in platform_tags(arch) for arg in ("--platform", tag)],
        "--target", str(site),
        "-r", str(requirements),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-30:])
        raise RuntimeError(f"pip install for {arch} py{python_version} failed:\n{tail}")


def _prune(build_root: Path, arch: str, current: str) -> None:
    """Delete this arch's older keys (all but the newest few) and stale temp dirs."""
    others = [p for p in build_root.glob(f"{arch}-py*") if p.is_dir() and p.name != current]
    others.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for old in others[KEEP_OTHER_KEYS_PER_ARCH:]:
        shutil.rmtree(old, ignore_errors=True)
        (build_root / f".{old.name}.lock").unlink(missing_ok=True)
    now = time.time()
    for tmp in build_root.glob(".tmp-*"):
        if tmp.is_dir() and now - tmp.stat().st_mtime > STALE_TMP_SECONDS:
            shutil.rmtree(tmp, ignore_errors=True)


def build_layer(
    arch: str | None = None,
    python_version: str = DEFAULT_PYTHON_VERSION,
    requirements: Path = DEFAULT_REQUIREMENTS,
    build_root: Path = DEFAULT_BUILD_ROOT,
) -> Path:
    """Build (or reuse) the layer and return ``<build_root>/<key>/layer.zip``.

    ``<build_root>/<key>/python/`` keeps the stripped tree (for import_check and sizes) and
    ``<build_root>/<key>/layer.json`` the figures. ``arch`` defaults to cdk.json's.
    """
    arch = arch or default_architecture()
    req_bytes = requirements.read_bytes()
    pins = parse_requirements(req_bytes.decode("utf-8"))
    key = layer_key(req_bytes, arch, python_version)
    final = build_root / key
    zip_path = final / "layer.zip"
    if zip_path.is_file() and (final / "layer.json").is_file():
        with contextlib.suppress(OSError):
            os.utime(final)  # most recently used: survives pruning
        _log(f"layer cached: {zip_path}")
        return zip_path

    build_root.mkdir(parents=True, exist_ok=True)
    with _locked(build_root / f".{key}.lock"):
        if zip_path.is_file() and (final / "layer.json").is_file():  # a concurrent build won
            _log(f"layer cached: {zip_path}")
            return zip_path
        _log(f"building layer {key} ({arch}, Python {python_version})")
        started = time.monotonic()
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{key}-", dir=build_root))
        tmp.chmod(0o755)  # mkdtemp makes it 0700
        try:
            site = tmp / "python"
            _pip_install(requirements, site, arch, python_version)
            requires = _verify_installed(site, pins)
            missing = missing_dependencies(requires, arch, python_version)
            if missing:
                raise RuntimeError(f"requirements are not closed, pin these too: {missing}")
            installed_bytes = tree_bytes(site)
            stripped = strip_tree(site)
            pth = sorted(p.name for p in site.glob("*.pth"))
            files = write_deterministic_zip(site, tmp / "layer.zip", prefix="python/")
            manifest = {
                "arch": arch,
                "python_version": python_version,
                "key": key,
                "platform_tags": platform_tags(arch),
                "requirements": pins,
                "omitted_dependencies": INTENTIONALLY_OMITTED,
                "installed_bytes": installed_bytes,
                "unzipped_bytes": tree_bytes(site),
                "zipped_bytes": (tmp / "layer.zip").stat().st_size,
                "files": files,
                "zip_sha256": _sha256_file(tmp / "layer.zip"),
                "stripped_bytes": stripped,
                "packages": package_sizes(site),
                "pth_files_not_processed_on_lambda": pth,
                "build_seconds": round(time.monotonic() - started, 1),
            }
            (tmp / "layer.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
            if final.exists():  # a leftover without layer.zip/layer.json: never a valid layer
                shutil.rmtree(final)
            tmp.rename(final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    _prune(build_root, arch, key)
    _log(f"layer built in {time.monotonic() - started:.0f}s: {zip_path}")
    return zip_path


def load_manifest(layer: Path) -> dict[str, Any]:
    """layer.json of a built layer, given its zip or its directory."""
    directory = layer.parent if layer.suffix == ".zip" else layer
    data: dict[str, Any] = json.loads((directory / "layer.json").read_text(encoding="utf-8"))
    return data


# --------------------------------------------------------------------------- import check

# A one-node ONNX model (Relu, float32 [N, 2] -> [N, 2], opset 13, IR 7), serialized with the
# onnx helper API: lets the check create an InferenceSession with no model file and no onnx.
TINY_RELU_ONNX_HEX = (
    "0807120873657276656b69743a400a0c0a0158120159220452656c75120472656c755a140a0158120f0a0d"
    "080112090a0312014e0a02080262140a0159120f0a0d080112090a0312014e0a02080242040a00100d"
)

_CHECK_SCRIPT = r"""
import json, os, sys, sysconfig, time, traceback
args = json.loads(sys.argv[1])
sys.path[:0] = [args["layer"]]
sys.path.extend(args["runtime_provided"])
out = {"python": sys.version.split()[0]}
try:
    started = time.perf_counter()
    import numpy as np
    import onnxruntime as ort
    import orjson, pydantic, starlette, fastapi, mangum
    import aws_lambda_powertools
    from aws_lambda_powertools import Logger, Metrics
    out["import_seconds"] = round(time.perf_counter() - started, 3)
    out["versions"] = {
        m.__name__: getattr(m, "__version__", None)
        for m in (np, ort, orjson, pydantic, starlette, fastapi)
    }
    Logger(service="servekit-check")
    Metrics(namespace="ServekitCheck", service="servekit-check")
    out["providers"] = ort.get_available_providers()

    cpu = ["CPUExecutionProvider"]
    tiny = ort.InferenceSession(bytes.fromhex(args["tiny_model"]), providers=cpu)
    y = tiny.run(None, {"X": np.array([[-1.0, 2.0]], dtype=np.float32)})[0]
    assert y.tolist() == [[0.0, 2.0]], y
    out["tiny_model"] = "ok"

    model = args["model"]
    if model and os.path.isfile(model):
        dtypes = {"tensor(float)": np.float32, "tensor(double)": np.float64,
                  "tensor(int64)": np.int64, "tensor(int32)": np.int32}
        sess = ort.InferenceSession(model, providers=cpu)
        feed = {i.name: np.zeros([d if isinstance(d, int) else 1 for d in i.shape],
                                 dtype=dtypes.get(i.type, np.float32))
                for i in sess.get_inputs()}
        results = sess.run(None, feed)
        out["model"] = {
            "path": model,
            "inputs": {i.name: [str(d) for d in i.shape] for i in sess.get_inputs()},
            "outputs": [o.name for o in sess.get_outputs()],
            "ran": len(results) > 0,
        }
    else:
        out["model"] = f"skipped: no model file at {model}"

    app = fastapi.FastAPI()

    class Item(pydantic.BaseModel):
        rows: list[list[float]]

    @app.post("/echo")
    def echo(item: Item) -> dict:
        return {"n": len(item.rows)}

    event = {
        "version": "2.0", "routeKey": "$default", "rawPath": "/echo", "rawQueryString": "",
        "headers": {"host": "check.local", "content-type": "application/json"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "check", "domainName": "check.local",
            "domainPrefix": "check", "requestId": "r", "routeKey": "$default",
            "stage": "$default", "time": "01/Jan/2026:00:00:00 +0000", "timeEpoch": 0,
            "http": {"method": "POST", "path": "/echo", "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "check"},
        },
        "body": orjson.dumps({"rows": [[1, 2], [3, 4]]}).decode(), "isBase64Encoded": False,
    }
    response = mangum.Mangum(app, lifespan="off")(event, object())
    assert response["statusCode"] == 200, response
    assert orjson.loads(response["body"]) == {"n": 2}, response
    out["fastapi_mangum"] = "ok"

    try:
        from aws_xray_sdk.core import xray_recorder  # noqa: F401
        out["xray_sdk"] = "ok"
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("botocore"):
            raise
        out["xray_sdk"] = "skipped: no botocore on this host (the Lambda runtime provides it)"

    roots = [args["layer"], *args["runtime_provided"],
             sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]]
    resolvers = (os.path.abspath, os.path.realpath)
    allowed = tuple({os.path.join(f(r), "") for r in roots for f in resolvers})
    foreign = sorted({
        name.split(".")[0] for name, mod in list(sys.modules.items())
        if getattr(mod, "__file__", None)
        and not os.path.abspath(mod.__file__).startswith(allowed)
    })
    out["foreign_modules"] = foreign
    assert not foreign, f"imported from outside the layer: {foreign}"
    out["status"] = "ok"
except BaseException as exc:
    out["status"] = "error"
    out["error"] = f"{type(exc).__name__}: {exc}"
    out["traceback"] = traceback.format_exc()[-3000:]
print(json.dumps(out))
"""

# Pure-Python packages that the Lambda runtime provides next to boto3 (for aws-xray-sdk).
_RUNTIME_PROVIDED = ("botocore", "dateutil", "urllib3", "six")


@contextlib.contextmanager
def _runtime_provided_dir() -> Iterator[list[str]]:
    """A temp dir of symlinks to this interpreter's botocore & co, standing in for /var/runtime."""
    with tempfile.TemporaryDirectory(prefix="servekit-runtime-") as tmp:
        found = False
        for name in _RUNTIME_PROVIDED:
            spec = importlib.util.find_spec(name)
            if spec is None or spec.origin is None:
                continue
            origin = Path(spec.origin)
            source = origin.parent if origin.name == "__init__.py" else origin
            (Path(tmp) / source.name).symlink_to(source)
            found = found or name == "botocore"
        yield [tmp] if found else []


def find_python(version: str = DEFAULT_PYTHON_VERSION) -> str | None:
    """An interpreter of ``version``: $SERVEKIT_LAYER_PYTHON, PATH, pyenv, or this one."""
    candidates: list[str] = []
    if os.environ.get("SERVEKIT_LAYER_PYTHON"):
        candidates.append(os.environ["SERVEKIT_LAYER_PYTHON"])
    candidates.append(sys.executable)
    which = shutil.which(f"python{version}")
    if which:
        candidates.append(which)
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates += sorted(
        glob.glob(f"{pyenv_root}/versions/{version}.*/bin/python{version}"), reverse=True
    )
    candidates += [f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"]
    for candidate in candidates:
        try:
            proc = subprocess.run(
                [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True, text=True, timeout=30, check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            continue
        if proc.returncode == 0 and proc.stdout.strip() == version:
            return candidate
    return None


def import_check(
    layer_dir: Path,
    python: str,
    model: Path | None = None,
    timeout: float = 300,
) -> dict[str, Any]:
    """Import the layer in an isolated ``python`` and run a model and a FastAPI request.

    ``layer_dir`` is ``<build_root>/<key>`` (or its ``python/`` dir). The interpreter runs
    with ``-I -S -B``: no host site-packages, no environment, no .pth processing, no
    bytecode written (like Lambda, where /opt/python is on sys.path and read-only).
    Returns the check's JSON: ``status`` "ok" or "error" (with ``error``/``traceback``).
    """
    site = layer_dir if layer_dir.name == "python" else layer_dir / "python"
    if not site.is_dir():
        raise FileNotFoundError(f"no layer tree at {site}")
    model = default_model_path() if model is None else model
    with _runtime_provided_dir() as runtime_provided:
        args = {
            "layer": str(site.resolve()),
            "runtime_provided": runtime_provided,
            "tiny_model": TINY_RELU_ONNX_HEX,
            "model": str(model.resolve()),
        }
        try:
            proc = subprocess.run(
                [python, "-I", "-S", "-B", "-c", _CHECK_SCRIPT, json.dumps(args)],
                capture_output=True, text=True, timeout=timeout, check=False,
                cwd=tempfile.gettempdir(),
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return {"status": "error", "error": f"timed out after {timeout}s"}
    lines = proc.stdout.strip().splitlines()
    try:
        result: dict[str, Any] = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        return {
            "status": "error",
            "error": f"check exited {proc.returncode} without a result",
            "stderr": proc.stderr[-3000:],
        }
    if proc.stderr.strip():
        result["stderr"] = proc.stderr[-3000:]
    return result


# --------------------------------------------------------------------------- CLI


def _summary(zip_path: Path) -> str:
    m = load_manifest(zip_path)
    return (
        f"layer {m['arch']} py{m['python_version']} {m['key']}: "
        f"{m['unzipped_bytes'] / MB:.1f} MB unzipped, {m['zipped_bytes'] / MB:.1f} MB zipped, "
        f"{m['files']} files (stripped {sum(m['stripped_bytes'].values()) / MB:.1f} MB)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--arch", choices=sorted(ARCHITECTURES), help="default: cdk.json's")
    parser.add_argument("--python", default=DEFAULT_PYTHON_VERSION, help="target Python version")
    parser.add_argument("--requirements", type=Path, default=DEFAULT_REQUIREMENTS)
    parser.add_argument("--build-root", type=Path, default=DEFAULT_BUILD_ROOT)
    parser.add_argument("--print-path", action="store_true", help="print only the zip path")
    parser.add_argument(
        "--check", action="store_true", help="run import_check (layer arch must be the host's)"
    )
    args = parser.parse_args(argv)

    arch = args.arch or default_architecture()
    zip_path = build_layer(arch, args.python, args.requirements, args.build_root)
    if args.print_path:
        print(zip_path)
    else:
        print(_summary(zip_path))
        print(zip_path)
    if not args.check:
        return 0
    if arch != host_architecture():
        _log(f"import check skipped: layer is {arch}, host is {platform.machine()}")
        return 0
    python = find_python(args.python)
    if python is None:
        _log(f"import check skipped: no Python {args.python} found (set SERVEKIT_LAYER_PYTHON)")
        return 0
    result = import_check(zip_path.parent, python)
    _log(
        f"import check: {result['status']}"
        + (f" ({result.get('error')})" if result["status"] != "ok" else "")
    )
    if not args.print_path:
        print(json.dumps(result))
    return 0 if result["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
