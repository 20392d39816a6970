"""Building one session recommender: train, export a real ONNX graph, check it, write it.

Training pairs are every prefix of every generated session (the empty one included, which
teaches the popularity prior) with the item that followed it. A multinomial logistic regression
fits them; its weights become a small ONNX graph written by hand (Gemm → Softmax → ArgMax), so
nothing but standard opset-17 operators runs at serving time. The exported graph must agree
with scikit-learn and reach the spec's hit rate @5 on held-out sessions.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from models.documents import MANIFEST_SCHEMA_VERSION
from models.export import PRODUCER_NAME, PRODUCER_VERSION, model_version_number, serialize
from models.output import write_model_files
from models.session_data import ITEMS, SessionEvent, generate_sessions
from models.session_specs import SessionModelSpec, encode_history
from models.specs import INPUT_NAME, LABEL_OUTPUT, PROBABILITIES_OUTPUT, BuildError
from models.verification import run_onnx

__all__ = ["HIT_RATE_K", "SessionBuild", "build_session_model", "to_onnx_graph"]

TRAIN_SESSIONS, TRAIN_SEED = 4000, 0
TEST_SESSIONS, TEST_SEED = 1000, 1
HIT_RATE_K = 5
OPSET = 17
IR_VERSION = 8


@dataclass(frozen=True, slots=True)
class SessionBuild:
    size: int
    sha256: str
    hit_rate: float


def _pairs(
    spec: SessionModelSpec, sessions: list[list[SessionEvent]]
) -> tuple[np.ndarray, np.ndarray, list[list[SessionEvent]]]:
    rows, targets, histories = [], [], []
    for events in sessions:
        for t in range(len(events)):
            rows.append(encode_history(spec, events[:t]))
            targets.append(events[t].item)
            histories.append(events[:t])
    return np.stack(rows), np.asarray(targets, dtype=np.int64), histories


def _train(spec: SessionModelSpec, x: np.ndarray, y: np.ndarray) -> Any:
    estimator = LogisticRegression(C=1.0, max_iter=2000, random_state=0)
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("error", category=ConvergenceWarning)
        estimator.fit(x.astype(np.float64), y)
    if [int(c) for c in estimator.classes_] != list(range(len(ITEMS))):
        raise BuildError(f"{spec.name}: the training data misses some items")
    return estimator


def to_onnx_graph(spec: SessionModelSpec, estimator: Any) -> onnx.ModelProto:
    """The fitted regression as Gemm → Softmax (probabilities) → ArgMax (label)."""
    weights = numpy_helper.from_array(np.asarray(estimator.coef_, np.float32), "weights")
    bias = numpy_helper.from_array(np.asarray(estimator.intercept_, np.float32), "bias")
    nodes = [
        helper.make_node("Gemm", [INPUT_NAME, "weights", "bias"], ["logits"], transB=1),
        helper.make_node("Softmax", ["logits"], [PROBABILITIES_OUTPUT], axis=1),
        helper.make_node("ArgMax", [PROBABILITIES_OUTPUT], [LABEL_OUTPUT], axis=1, keepdims=0),
    ]
    graph = helper.make_graph(
        nodes,
        spec.name.replace("-", "_"),
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, [None, spec.n_features])],
        [
            helper.make_tensor_value_info(LABEL_OUTPUT, TensorProto.INT64, [None]),
            helper.make_tensor_value_info(
                PROBABILITIES_OUTPUT, TensorProto.FLOAT, [None, len(ITEMS)]
            ),
        ],
        initializer=[weights, bias],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name=PRODUCER_NAME,
        producer_version=PRODUCER_VERSION,
        domain="servekit.models",
        model_version=model_version_number(spec.version),
        doc_string=f"{spec.name} {spec.version}: {spec.description}",
    )
    for key, value in (("servekit.name", spec.name), ("servekit.version", spec.version)):
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model, full_check=True)
    return model


def _manifest(spec: SessionModelSpec, sha256: str, rows: int, hit_rate: float) -> dict[str, Any]:
    return {
        "schema_version": MANIFEST_SCHEMA_VERSION,
        "name": spec.name,
        "version": spec.version,
        "sha256": sha256,
        "task": "classification",
        "description": f"{spec.description}; trained on {rows} (history, next item) pairs from "
        f"servekit's seeded synthetic shop sessions; hit rate @{HIT_RATE_K} {hit_rate:.4f} "
        "on held-out sessions",
        "inputs": [{"name": INPUT_NAME, "dtype": "float32", "shape": [None, spec.n_features]}],
        "outputs": [
            {"name": LABEL_OUTPUT, "dtype": "int64", "shape": [None]},
            {"name": PROBABILITIES_OUTPUT, "dtype": "float32", "shape": [None, len(ITEMS)]},
        ],
        "labels": list(ITEMS),
        "label_output": LABEL_OUTPUT,
        "probabilities_output": PROBABILITIES_OUTPUT,
        "session": spec.session_block(),
    }


def _example(
    spec: SessionModelSpec, histories: list[list[SessionEvent]], y: np.ndarray, top1: np.ndarray
) -> dict[str, Any]:
    """A history of 3+ events whose next item the model ranks first."""
    for index, history in enumerate(histories):
        if len(history) >= 3 and int(top1[index]) == int(y[index]):
            return {
                "model": spec.name,
                "session_events": [{"item": ITEMS[e.item], "type": e.type} for e in history],
                "inputs": [[float(v) for v in encode_history(spec, history)]],
                "expected_labels": [ITEMS[int(y[index])]],
            }
    raise BuildError(f"{spec.name}: no held-out history the model gets right")


def build_session_model(spec: SessionModelSpec, directory: Path) -> SessionBuild:
    """Train, export and check ``spec``; write its three files into ``directory`` (new)."""
    x_train, y_train, _ = _pairs(spec, generate_sessions(TRAIN_SESSIONS, TRAIN_SEED))
    x_test, y_test, histories = _pairs(spec, generate_sessions(TEST_SESSIONS, TEST_SEED))
    estimator = _train(spec, x_train, y_train)
    model_bytes = serialize(to_onnx_graph(spec, estimator))

    top1, probabilities = run_onnx(model_bytes, x_test.astype(np.float64))
    expected = np.asarray(estimator.predict_proba(x_test.astype(np.float64)), np.float32)
    if not np.allclose(probabilities, expected, atol=1e-4):
        raise BuildError(f"{spec.name}: ONNX probabilities disagree with scikit-learn")
    top_k = np.argsort(-probabilities, axis=1, kind="stable")[:, :HIT_RATE_K]
    hit_rate = float(np.mean([y_test[i] in top_k[i] for i in range(len(y_test))]))
    if hit_rate < spec.min_hit_rate:
        raise BuildError(f"{spec.name}: hit rate @{HIT_RATE_K} {hit_rate:.4f} is too low")

    sha256 = hashlib.sha256(model_bytes).hexdigest()
    write_model_files(
        directory,
        model_bytes,
        _manifest(spec, sha256, len(y_train), hit_rate),
        _example(spec, histories, y_test, top1),
    )
    return SessionBuild(size=len(model_bytes), sha256=sha256, hit_rate=hit_rate)
