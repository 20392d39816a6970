"""The build itself: one model (train, export, check, write) and a whole run into ``<out>/``.

:func:`build_model` chains training, export, verification and the documents for one spec
into a new directory; :func:`build` stages every selected model, swaps the directories in,
writes the stamp and prints one line per model (or skips, with ``if_changed``, when the
stamp shows the same inputs and every model directory is intact).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from models.documents import add_options, example_request, model_description
from models.export import serialize, to_onnx
from models.output import (
    install,
    installed_manifest,
    read_stamp,
    stamp_key,
    write_model,
    write_stamp,
)
from models.session_build import HIT_RATE_K, build_session_model
from models.session_specs import SESSION_REGISTRY, SessionModelSpec, select_session_specs
from models.specs import ModelSpec, select_specs
from models.tabular import (
    TABULAR_REGISTRY,
    TabularSpec,
    build_tabular_model,
    select_tabular_specs,
)
from models.training import Split, load_split, train
from models.verification import check_onnx_model, evaluate

__all__ = ["BuildResult", "build", "build_model", "build_session"]


@dataclass(frozen=True, slots=True)
class BuildResult:
    """What one model build produced (the files are in ``directory``)."""

    spec: ModelSpec | SessionModelSpec | TabularSpec
    directory: Path
    size: int
    sha256: str
    test_accuracy: float
    seconds: float
    score_name: str = "test accuracy"


def build_model(spec: ModelSpec, split: Split, directory: Path) -> BuildResult:
    """Train, export and check ``spec``; write its three files into ``directory`` (new)."""
    started = time.perf_counter()
    estimator = train(spec, split)
    model = to_onnx(spec, estimator)
    check_onnx_model(spec, model)
    model_bytes = serialize(model)
    evaluation = evaluate(spec, model_bytes, estimator, split)

    sha256 = hashlib.sha256(model_bytes).hexdigest()
    description = model_description(
        spec, len(split.y_train), len(split.y_test), evaluation.accuracy
    )
    write_model(
        directory,
        model_bytes,
        replace(add_options(spec, description), reference=split.x_test.tolist()),
        example_request(spec, split.x_test, split.y_test, evaluation.labels),
    )
    return BuildResult(
        spec=spec,
        directory=directory,
        size=len(model_bytes),
        sha256=sha256,
        test_accuracy=evaluation.accuracy,
        seconds=time.perf_counter() - started,
    )


def build_session(spec: SessionModelSpec, directory: Path) -> BuildResult:
    """Build one session recommender (see models/session_build.py) into ``directory``."""
    started = time.perf_counter()
    built = build_session_model(spec, directory)
    return BuildResult(
        spec=spec,
        directory=directory,
        size=built.size,
        sha256=built.sha256,
        test_accuracy=built.hit_rate,
        seconds=time.perf_counter() - started,
        score_name=f"hit rate @{HIT_RATE_K}",
    )


def build_tabular(spec: TabularSpec, directory: Path) -> BuildResult:
    """Build one tabular example (see models/tabular.py) into ``directory``."""
    started = time.perf_counter()
    built = build_tabular_model(spec, directory)
    return BuildResult(
        spec=spec,
        directory=directory,
        size=built.size,
        sha256=built.sha256,
        test_accuracy=built.score,
        seconds=time.perf_counter() - started,
        score_name=built.score_name,
    )


_Selection = tuple[list[ModelSpec], list[SessionModelSpec], list[TabularSpec]]


def _selection(only: Sequence[str] | None) -> _Selection:
    """The digits, session and tabular specs named in ``only`` (every model when empty)."""
    if not only:
        return select_specs(None), select_session_specs(None), select_tabular_specs(None)
    session_names = {spec.name for spec in SESSION_REGISTRY}
    tabular_names = {spec.name for spec in TABULAR_REGISTRY}
    others = [name for name in only if name not in session_names | tabular_names]
    sessions = [name for name in only if name in session_names]
    tabular = [name for name in only if name in tabular_names]
    return (
        select_specs(others) if others else [],
        select_session_specs(sessions) if sessions else [],
        select_tabular_specs(tabular) if tabular else [],
    )


def _up_to_date(out: Path, specs: Sequence[ModelSpec | SessionModelSpec | TabularSpec]) -> bool:
    """Print the "up to date" lines and return True if every spec's directory is intact."""
    installed = {spec.name: installed_manifest(out, spec.name) for spec in specs}
    if not all(found is not None for found in installed.values()):
        return False
    for spec in specs:
        found = installed[spec.name]
        assert found is not None
        print(
            f"{spec.name} {found['version']}: {found['_size']} bytes, "
            f"sha256 {str(found['sha256'])[:12]}, up to date"
        )
    return True


def build(out: Path, only: Sequence[str] | None = None, if_changed: bool = False) -> int:
    """Build the selected models into ``out``; print one line per model. Returns 0."""
    digits_specs, session_specs, tabular_specs = _selection(only)
    specs: list[ModelSpec | SessionModelSpec | TabularSpec] = [
        *digits_specs,
        *session_specs,
        *tabular_specs,
    ]
    names = frozenset(spec.name for spec in specs)
    out.mkdir(parents=True, exist_ok=True)
    key = stamp_key()
    stamped_key, stamped_models = read_stamp(out)

    if if_changed and stamped_key == key and names <= stamped_models and _up_to_date(out, specs):
        return 0

    staging = Path(tempfile.mkdtemp(prefix=".build-", dir=out))
    try:
        results: list[BuildResult] = []
        if digits_specs:
            split = load_split()
            results += [build_model(spec, split, staging / spec.name) for spec in digits_specs]
        results += [build_session(spec, staging / spec.name) for spec in session_specs]
        results += [build_tabular(spec, staging / spec.name) for spec in tabular_specs]
        for result in results:
            install(result.directory, out / result.spec.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    # The stamp vouches for every model built with this key, this run's and earlier ones'.
    carried = stamped_models if stamped_key == key else frozenset()
    write_stamp(out, key, carried | names)
    for result in results:
        print(
            f"{result.spec.name} {result.spec.version}: {result.size} bytes, "
            f"sha256 {result.sha256[:12]}, {result.score_name} {result.test_accuracy:.4f} "
            f"({result.seconds:.1f} s)"
        )
    return 0
