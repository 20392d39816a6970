"""Build servekit's example ONNX models, deterministically.

Trains small scikit-learn classifiers on the digits dataset bundled with scikit-learn (8x8
images, 64 pixel features valued 0..16, classes 0-9; nothing is downloaded), exports them to
ONNX with skl2onnx and writes, for each model, ``<out>/<name>/`` holding:

* ``model.onnx``: one input ``input`` (float32, [None, 64]); outputs ``label`` (int64, [None])
  and ``probabilities`` (float32, [None, 10]);
* ``manifest.json``: name, version, sha256 of ``model.onnx`` and the signature, as read by
  :class:`servekit.runtime.manifest.Manifest`;
* ``example_request.json``: a request body with two rows of the held-out test split, and
  their true labels under ``expected_labels``.

Two builds with the same library versions produce byte-identical files: every random state is
fixed, training runs on one BLAS thread and the ONNX bytes carry no timestamps, paths,
generated names or anything ordered by Python's string hash seed.

Usage::

    python models/build.py --out models/artifacts [--if-changed] [--only NAME ...]

Adding a model is adding one :class:`ModelSpec` to :data:`REGISTRY`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort
from onnx import TensorProto
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType, Int64TensorType
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

__all__ = [
    "INPUT_NAME",
    "LABEL_OUTPUT",
    "PROBABILITIES_OUTPUT",
    "REGISTRY",
    "BuildResult",
    "ModelSpec",
    "build_model",
    "load_split",
    "main",
    "stamp_key",
]

# --- the fixed contract ---------------------------------------------------------------------

INPUT_NAME = "input"
LABEL_OUTPUT = "label"
PROBABILITIES_OUTPUT = "probabilities"
N_FEATURES = 64
LABELS: tuple[str, ...] = tuple(str(digit) for digit in range(10))

MANIFEST_SCHEMA_VERSION = 1
# Highest opsets skl2onnx may use: the main domain and the ONNX-ML domain (Scaler,
# LinearClassifier, ...). skl2onnx emits the lowest opset each graph needs, at most these;
# onnxruntime 1.31 runs them all.
TARGET_OPSET: dict[str, int] = {"": 17, "ai.onnx.ml": 3}

PRODUCER_NAME = "servekit-models"
PRODUCER_VERSION = "1"
STAMP_FILE = ".build-stamp"
# Versions that go into the --if-changed key (besides this file's bytes).
KEY_DISTRIBUTIONS = ("scikit-learn", "skl2onnx", "onnx", "numpy")

SPLIT_TEST_SIZE = 0.25
SPLIT_RANDOM_STATE = 0
EXAMPLE_ROWS = 2

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class BuildError(RuntimeError):
    """A model could not be built, exported or checked."""


# --- the registry ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One example model: its identity and a factory for the (unfitted) sklearn estimator.

    The factory must return a classifier (or a Pipeline ending in one) that takes the raw
    pixel values 0..16, with every random state fixed. ``min_accuracy`` is a sanity floor for
    the held-out accuracy: a build under it fails.
    """

    name: str
    version: str
    description: str
    factory: Callable[[], Any]
    min_accuracy: float = 0.9
    # Set for models trained on purpose for fewer iterations than convergence needs.
    silence_convergence_warning: bool = False


def _logreg() -> Any:
    return Pipeline(
        [
            ("scale", StandardScaler()),
            ("classify", LogisticRegression(max_iter=2000, C=1.0, random_state=0)),
        ]
    )


def _mlp() -> Any:
    return Pipeline(
        [
            ("scale", StandardScaler()),
            (
                "classify",
                MLPClassifier(
                    hidden_layer_sizes=(1024, 1024, 512),
                    solver="adam",
                    batch_size=200,
                    learning_rate_init=1e-3,
                    max_iter=30,
                    early_stopping=False,
                    shuffle=True,
                    random_state=0,
                ),
            ),
        ]
    )


REGISTRY: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="digits-logreg",
        version="1.0.0",
        description="Logistic regression on standardized pixels",
        factory=_logreg,
    ),
    ModelSpec(
        name="digits-mlp",
        version="1.0.0",
        description="Multi-layer perceptron (1024-1024-512, ReLU) on standardized pixels",
        factory=_mlp,
        silence_convergence_warning=True,
    ),
)


# --- data -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Split:
    """The fixed train/test split of the digits dataset (features are raw pixels 0..16)."""

    x_train: FloatArray
    x_test: FloatArray
    y_train: IntArray
    y_test: IntArray


def load_split() -> Split:
    """The digits dataset bundled with scikit-learn, split 75/25, stratified, seed 0."""
    digits = load_digits()
    x = np.asarray(digits.data, dtype=np.float64)
    y = np.asarray(digits.target, dtype=np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=SPLIT_TEST_SIZE, random_state=SPLIT_RANDOM_STATE, stratify=y
    )
    return Split(x_train=x_train, x_test=x_test, y_train=y_train, y_test=y_test)


# --- training and export --------------------------------------------------------------------


def _train(spec: ModelSpec, split: Split) -> Any:
    estimator = spec.factory()
    # One BLAS/OpenMP thread: multi-threaded reductions may sum floats in another order.
    with threadpool_limits(limits=1), warnings.catch_warnings():
        if spec.silence_convergence_warning:
            warnings.simplefilter("ignore", category=ConvergenceWarning)
        else:
            warnings.simplefilter("error", category=ConvergenceWarning)
        estimator.fit(split.x_train, split.y_train)
    return estimator


def _final_classifier(estimator: Any) -> Any:
    steps = getattr(estimator, "steps", None)
    return steps[-1][1] if steps else estimator


def _export(spec: ModelSpec, estimator: Any) -> onnx.ModelProto:
    """The fitted estimator as a normalized ``onnx.ModelProto``."""
    classifier = _final_classifier(estimator)
    classes = [int(c) for c in classifier.classes_]
    if classes != list(range(len(LABELS))):
        raise BuildError(f"{spec.name}: unexpected classes {classes}")

    model: onnx.ModelProto = convert_sklearn(
        estimator,
        name=spec.name,  # the default is a random uuid
        initial_types=[(INPUT_NAME, FloatTensorType([None, N_FEATURES]))],
        final_types=[
            (LABEL_OUTPUT, Int64TensorType([None])),
            (PROBABILITIES_OUTPUT, FloatTensorType([None, len(LABELS)])),
        ],
        options={id(classifier): {"zipmap": False}},
        target_opset=dict(TARGET_OPSET),
    )

    # skl2onnx collects the opsets in a set: their order follows the string hash seed.
    opsets = sorted((o.domain, o.version) for o in model.opset_import)
    del model.opset_import[:]
    for domain, version in opsets:
        model.opset_import.add(domain=domain, version=version)

    # Fixed identity: nothing that depends on the machine, the time or the run.
    model.producer_name = PRODUCER_NAME
    model.producer_version = PRODUCER_VERSION
    model.domain = "servekit.models"
    model.model_version = _model_version_number(spec.version)
    model.doc_string = f"{spec.name} {spec.version}: {spec.description}"
    model.graph.name = spec.name.replace("-", "_")
    model.graph.doc_string = ""
    del model.metadata_props[:]
    for key, value in (("servekit.name", spec.name), ("servekit.version", spec.version)):
        prop = model.metadata_props.add()
        prop.key = key
        prop.value = value

    onnx.checker.check_model(model, full_check=True)
    _check_signature(spec, model)
    return model


def _model_version_number(version: str) -> int:
    """``"1.2.3"`` -> 1_002_003 (ModelProto.model_version is an int64)."""
    parts = [int(part) for part in version.split(".")]
    if len(parts) != 3 or any(not 0 <= part < 1000 for part in parts):
        raise BuildError(f"version {version!r} is not MAJOR.MINOR.PATCH (each < 1000)")
    return parts[0] * 1_000_000 + parts[1] * 1_000 + parts[2]


def _check_signature(spec: ModelSpec, model: onnx.ModelProto) -> None:
    def describe(value_info: onnx.ValueInfoProto) -> tuple[str, int, tuple[int | None, ...]]:
        tensor = value_info.type.tensor_type
        dims = tuple(
            dim.dim_value if dim.HasField("dim_value") else None for dim in tensor.shape.dim
        )
        return value_info.name, tensor.elem_type, dims

    inputs = [describe(v) for v in model.graph.input]
    outputs = [describe(v) for v in model.graph.output]
    want_inputs = [(INPUT_NAME, TensorProto.FLOAT, (None, N_FEATURES))]
    want_outputs = [
        (LABEL_OUTPUT, TensorProto.INT64, (None,)),
        (PROBABILITIES_OUTPUT, TensorProto.FLOAT, (None, len(LABELS))),
    ]
    if inputs != want_inputs or outputs != want_outputs:
        raise BuildError(
            f"{spec.name}: unexpected ONNX signature: inputs {inputs}, outputs {outputs}"
        )


def _serialize(model: onnx.ModelProto) -> bytes:
    data = model.SerializeToString(deterministic=True)
    if not isinstance(data, bytes):  # pragma: no cover - protobuf always returns bytes
        raise BuildError("ModelProto.SerializeToString did not return bytes")
    return data


def _run_onnx(model_bytes: bytes, x: FloatArray) -> tuple[IntArray, npt.NDArray[np.float32]]:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(
        model_bytes, sess_options=options, providers=["CPUExecutionProvider"]
    )
    label, probabilities = session.run(
        [LABEL_OUTPUT, PROBABILITIES_OUTPUT], {INPUT_NAME: x.astype(np.float32)}
    )
    return np.asarray(label, dtype=np.int64), np.asarray(probabilities, dtype=np.float32)


# --- one model ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BuildResult:
    """What one model build produced (the files are in ``directory``)."""

    spec: ModelSpec
    directory: Path
    size: int
    sha256: str
    test_accuracy: float
    seconds: float


def _manifest(spec: ModelSpec, sha256: str, description: str) -> dict[str, Any]:
    return {
        "schema_version": MANIFEST_SCHEMA_VERSION,
        "name": spec.name,
        "version": spec.version,
        "sha256": sha256,
        "task": "classification",
        "description": description,
        "inputs": [{"name": INPUT_NAME, "dtype": "float32", "shape": [None, N_FEATURES]}],
        "outputs": [
            {"name": LABEL_OUTPUT, "dtype": "int64", "shape": [None]},
            {"name": PROBABILITIES_OUTPUT, "dtype": "float32", "shape": [None, len(LABELS)]},
        ],
        "labels": list(LABELS),
        "label_output": LABEL_OUTPUT,
        "probabilities_output": PROBABILITIES_OUTPUT,
    }


def _json_bytes(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def build_model(spec: ModelSpec, split: Split, directory: Path) -> BuildResult:
    """Train, export and check ``spec``; write its three files into ``directory`` (new)."""
    started = time.perf_counter()
    estimator = _train(spec, split)
    model_bytes = _serialize(_export(spec, estimator))

    # Score the exported model itself, and check it agrees with scikit-learn.
    onnx_labels, onnx_probabilities = _run_onnx(model_bytes, split.x_test)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn may warn on float edge cases; not our concern
        sk_labels = np.asarray(estimator.predict(split.x_test), dtype=np.int64)
    agreement = float(np.mean(onnx_labels == sk_labels))
    if agreement < 0.99:
        raise BuildError(f"{spec.name}: ONNX agrees with scikit-learn on only {agreement:.2%}")
    if not np.allclose(onnx_probabilities.sum(axis=1), 1.0, atol=1e-4):
        raise BuildError(f"{spec.name}: probabilities do not sum to 1")
    accuracy = float(np.mean(onnx_labels == split.y_test))
    if accuracy < spec.min_accuracy:
        raise BuildError(
            f"{spec.name}: test accuracy {accuracy:.4f} is under {spec.min_accuracy:.2f}"
        )

    sha256 = hashlib.sha256(model_bytes).hexdigest()
    description = (
        f"{spec.description}; trained on scikit-learn's bundled digits dataset "
        f"(8x8 images, raw pixel values 0..16, {len(split.y_train)} training rows); "
        f"test accuracy {accuracy:.4f} on {len(split.y_test)} held-out rows"
    )

    # Example request: the first test rows the model gets right.
    rows = [int(i) for i in np.flatnonzero(onnx_labels == split.y_test)[:EXAMPLE_ROWS]]
    example = {
        "model": spec.name,
        "inputs": [[int(v) for v in split.x_test[i]] for i in rows],
        "expected_labels": [LABELS[int(split.y_test[i])] for i in rows],
    }

    directory.mkdir(parents=True)
    (directory / "model.onnx").write_bytes(model_bytes)
    (directory / "manifest.json").write_bytes(_json_bytes(_manifest(spec, sha256, description)))
    (directory / "example_request.json").write_bytes(_json_bytes(example))
    return BuildResult(
        spec=spec,
        directory=directory,
        size=len(model_bytes),
        sha256=sha256,
        test_accuracy=accuracy,
        seconds=time.perf_counter() - started,
    )


# --- the stamp (--if-changed) ---------------------------------------------------------------


def stamp_key() -> str:
    """sha256 over this file's bytes and the versions of the libraries that shape the output."""
    digest = hashlib.sha256()
    digest.update(Path(__file__).read_bytes())
    for distribution in KEY_DISTRIBUTIONS:
        digest.update(f"\n{distribution}=={metadata.version(distribution)}".encode())
    return digest.hexdigest()


def _read_stamp(out: Path) -> tuple[str, frozenset[str]]:
    try:
        raw = json.loads((out / STAMP_FILE).read_text(encoding="utf-8"))
        return str(raw["key"]), frozenset(str(name) for name in raw["models"])
    except (OSError, ValueError, KeyError, TypeError):
        return "", frozenset()


def _write_stamp(out: Path, key: str, models: frozenset[str]) -> None:
    tmp = out / f"{STAMP_FILE}.tmp"
    tmp.write_bytes(_json_bytes({"key": key, "models": sorted(models)}))
    os.replace(tmp, out / STAMP_FILE)


def _installed(out: Path, name: str) -> dict[str, Any] | None:
    """The manifest of ``<out>/<name>`` if it is complete and matches its model, else None."""
    directory = out / name
    try:
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
        model_bytes = (directory / "model.onnx").read_bytes()
        if not (directory / "example_request.json").is_file():
            return None
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict):
        return None
    if manifest.get("sha256") != hashlib.sha256(model_bytes).hexdigest():
        return None
    manifest["_size"] = len(model_bytes)
    return manifest


# --- installing -----------------------------------------------------------------------------


def _install(staged: Path, target: Path) -> None:
    """Move the staged model directory to ``target``, replacing any old one.

    The model directory is swapped as a whole (renames within one filesystem), so a crash
    never leaves a manifest next to a model it does not describe.
    """
    old: Path | None = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        if old.exists():
            shutil.rmtree(old)
        os.replace(target, old)
    os.replace(staged, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _select(only: Sequence[str] | None) -> list[ModelSpec]:
    if not only:
        return list(REGISTRY)
    known = {spec.name: spec for spec in REGISTRY}
    unknown = [name for name in only if name not in known]
    if unknown:
        raise BuildError(f"unknown model(s) {unknown}; known: {sorted(known)}")
    return [spec for spec in REGISTRY if spec.name in set(only)]


def build(out: Path, only: Sequence[str] | None = None, if_changed: bool = False) -> int:
    """Build the selected models into ``out``; print one line per model. Returns 0."""
    specs = _select(only)
    names = frozenset(spec.name for spec in specs)
    out.mkdir(parents=True, exist_ok=True)
    key = stamp_key()
    stamped_key, stamped_models = _read_stamp(out)

    if if_changed and stamped_key == key and names <= stamped_models:
        installed = {spec.name: _installed(out, spec.name) for spec in specs}
        if all(manifest is not None for manifest in installed.values()):
            for spec in specs:
                manifest = installed[spec.name]
                assert manifest is not None
                print(
                    f"{spec.name} {manifest['version']}: {manifest['_size']} bytes, "
                    f"sha256 {str(manifest['sha256'])[:12]}, up to date"
                )
            return 0

    split = load_split()
    staging = Path(tempfile.mkdtemp(prefix=".build-", dir=out))
    try:
        results = [build_model(spec, split, staging / spec.name) for spec in specs]
        for result in results:
            _install(result.directory, out / result.spec.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    # The stamp vouches for every model built with this key, this run's and earlier ones'.
    carried = stamped_models if stamped_key == key else frozenset()
    _write_stamp(out, key, carried | names)
    for result in results:
        print(
            f"{result.spec.name} {result.spec.version}: {result.size} bytes, "
            f"sha256 {result.sha256[:12]}, test accuracy {result.test_accuracy:.4f} "
            f"({result.seconds:.1f} s)"
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Build servekit's example ONNX models (deterministically)."
    )
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument(
        "--if-changed",
        action="store_true",
        help=f"do nothing when <out>/{STAMP_FILE} shows the same build inputs",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help=f"build only these models (of: {', '.join(spec.name for spec in REGISTRY)})",
    )
    args = parser.parse_args(argv)
    try:
        return build(args.out, only=args.only, if_changed=args.if_changed)
    except Exception as exc:  # a build script: report, don't dump a traceback by default
        print(f"models/build.py: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        if os.environ.get("SERVEKIT_BUILD_DEBUG"):
            raise
        return 1


if __name__ == "__main__":
    sys.exit(main())
