"""The layer's pins: parse requirements.txt, check what pip installed, check the closure.

``layers/requirements.txt`` pins the whole dependency closure (pip runs with ``--no-deps``),
so the build verifies that pip installed exactly the pins and that every shipped
distribution's ``Requires-Dist`` (evaluated for the Lambda runtime) is pinned too.
"""

from __future__ import annotations

import re
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from layers.config import ARCHITECTURES

__all__ = [
    "FORBIDDEN",
    "INTENTIONALLY_OMITTED",
    "PIN_RE",
    "dist_infos",
    "marker_environment",
    "metadata_field",
    "missing_dependencies",
    "parse_requirements",
    "verify_installed",
]

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

PIN_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)$")


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
        match = PIN_RE.match(line)
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


def dist_infos(site: Path) -> dict[str, Path]:
    """``{canonical name: dist-info dir}`` of what pip installed into ``site``."""
    found: dict[str, Path] = {}
    for info in sorted(site.glob("*.dist-info")):
        name = info.name[: -len(".dist-info")].rsplit("-", 1)[0]
        found[canonicalize_name(name)] = info
    return found


def metadata_field(info: Path, field: str) -> list[str]:
    """Every value of header ``field`` in ``<info>/METADATA``."""
    values: list[str] = []
    for line in (info / "METADATA").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            break  # end of headers, start of the long description
        key, _, value = line.partition(":")
        if key == field:
            values.append(value.strip())
    return values


def verify_installed(site: Path, pins: dict[str, str]) -> dict[str, list[str]]:
    """Check that ``site`` holds exactly ``pins``; returns each distribution's Requires-Dist."""
    infos = dist_infos(site)
    versions = {name: metadata_field(info, "Version")[0] for name, info in infos.items()}
    if versions != pins:
        extra = sorted(set(versions) - set(pins))
        lacking = sorted(set(pins) - set(versions))
        wrong = sorted(n for n in set(pins) & set(versions) if pins[n] != versions[n])
        raise RuntimeError(
            f"pip installed the wrong set: extra={extra} missing={lacking} version={wrong}"
        )
    return {name: metadata_field(info, "Requires-Dist") for name, info in infos.items()}
