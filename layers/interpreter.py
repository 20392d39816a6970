"""Find a Python interpreter of the Lambda runtime's version on the build host.

The layer's bytecode and its import check need a real interpreter of the target version
(3.12): a pyc written by 3.11 is ignored by 3.12, and the layer's compiled wheels are cp312.
"""

from __future__ import annotations

import functools
import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

from layers.config import DEFAULT_PYTHON_VERSION

__all__ = ["PYTHON_ENV_VAR", "find_python", "interpreter_version"]

# Points at the interpreter when none of the usual places has one of the target version.
PYTHON_ENV_VAR = "SERVEKIT_LAYER_PYTHON"
_VERSION_TIMEOUT_S = 30


@functools.cache
def interpreter_version(python: str) -> str | None:
    """The full version (``"3.12.1"``) of the interpreter ``python``, or None if it won't run.

    Cached per process: a synth asks for the layer's and the function asset's bytecode
    interpreter, and each lookup would otherwise start every candidate again.
    """
    try:
        proc = subprocess.run(
            [python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
            capture_output=True, text=True, timeout=_VERSION_TIMEOUT_S, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    version = proc.stdout.strip()
    if proc.returncode != 0 or version.count(".") != 2:
        return None
    return version


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def find_python(version: str = DEFAULT_PYTHON_VERSION) -> str | None:
    """An interpreter of ``version``: $SERVEKIT_LAYER_PYTHON, this one, PATH, pyenv, /usr.

    Each candidate is run, so a pyenv shim that cannot resolve the version is skipped.
    """
    candidates: list[str] = []
    if os.environ.get(PYTHON_ENV_VAR):
        candidates.append(os.environ[PYTHON_ENV_VAR])
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
        found = interpreter_version(candidate)
        if found is not None and _minor(found) == version:
            return candidate
    return None
