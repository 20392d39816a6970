"""Ship bytecode compiled by the Lambda runtime's Python (a cold-start win).

Lambda's /opt (layers) and /var/task (function code) are read-only, so a module without a
matching ``__pycache__/<name>.cpython-312.pyc`` is compiled again on every cold start and the
result thrown away. compile_bytecode runs the target interpreter's compileall over a tree:

- ``--invalidation-mode unchecked-hash``: the pyc holds a source hash instead of an mtime and
  is never re-validated (the source cannot change on Lambda), so the same source gives the
  same bytes: stable zip, stable CDK asset hash;
- ``-d <ddir>``: tracebacks show the path on Lambda (``/opt/python/...``, ``/var/task/...``);
- ``-f``: rewrite any bytecode already in the tree (a stale timestamp-based pyc would make
  the output depend on the checkout's mtimes);
- ``-o 0``: the optimization level Lambda imports with (no ``.opt-1.pyc``);
- PYTHON* variables dropped and PYTHONHASHSEED=0 (PYTHONPYCACHEPREFIX would send the pyc
  elsewhere, PYTHONOPTIMIZE would change the level).

The interpreter must be of the target version: a 3.11 pyc is useless on 3.12.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from layers.archive import tree_bytes
from layers.config import DEFAULT_PYTHON_VERSION
from layers.interpreter import interpreter_version

__all__ = ["COMPILE_TIMEOUT_S", "compile_bytecode", "compileall_command"]

COMPILE_TIMEOUT_S = 600


def compileall_command(python: str, tree: Path, ddir: str) -> list[str]:
    """The compileall invocation compile_bytecode runs (``-j 0``: one worker per CPU)."""
    return [
        python, "-m", "compileall", "-q", "-f", "-j", "0", "-o", "0",
        "--invalidation-mode", "unchecked-hash", "-d", ddir, str(tree),
    ]  # fmt: skip


def _compile_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env["PYTHONHASHSEED"] = "0"
    return env


def compile_bytecode(
    tree: Path,
    python: str,
    *,
    ddir: str,
    target_version: str = DEFAULT_PYTHON_VERSION,
) -> int:
    """Compile every ``.py`` under ``tree`` with ``python``; returns the bytes added.

    ``ddir`` is where ``tree`` lives at run time: ``/opt/python`` for the layer's
    ``python/`` dir, ``/var/task`` for the function code. Writes
    ``__pycache__/<module>.cpython-<XY>.pyc`` next to each source, deterministically.

    Raises ValueError when ``python`` is not a ``target_version`` interpreter (or does not
    run), FileNotFoundError when ``tree`` is not a directory, and RuntimeError when a file
    fails to compile (a syntax error for the target version).
    """
    if not tree.is_dir():
        raise FileNotFoundError(f"no directory to compile at {tree}")
    version = interpreter_version(python)
    if version is None:
        raise ValueError(f"cannot run {python!r} to compile bytecode")
    if version.split(".")[:2] != target_version.split(".")[:2]:
        raise ValueError(
            f"refusing to compile with Python {version} ({python}): the target is Python "
            f"{target_version}, which ignores bytecode of any other version"
        )
    before = tree_bytes(tree)
    try:
        proc = subprocess.run(
            compileall_command(python, tree, ddir),
            capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S, check=False,
            env=_compile_env(),
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"compileall timed out after {COMPILE_TIMEOUT_S}s on {tree}") from exc
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-30:])
        raise RuntimeError(f"compileall failed on {tree} (Python {version}):\n{tail}")
    return tree_bytes(tree) - before
