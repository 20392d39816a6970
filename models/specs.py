"""What gets built: the contract every example model keeps, and the registry of model specs.

Every model takes one input ``input`` (float32, [None, 64]: the 8x8 digits pixels, valued
0..16) and has two outputs, ``label`` (int64, [None]) and ``probabilities`` (float32,
[None, 10]), over the labels ``"0"``..``"9"``. Adding a model is adding one
:class:`ModelSpec` to :data:`REGISTRY`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from models import digits_forest
from models.digits_heavy import HEAVY_DESCRIPTION, HEAVY_NAME, HEAVY_VERSION, heavy

__all__ = [
    "INPUT_NAME",
    "LABELS",
    "LABEL_OUTPUT",
    "N_FEATURES",
    "PROBABILITIES_OUTPUT",
    "REGISTRY",
    "BuildError",
    "ModelSpec",
    "select_specs",
]

# --- the fixed contract ---------------------------------------------------------------------

INPUT_NAME = "input"
LABEL_OUTPUT = "label"
PROBABILITIES_OUTPUT = "probabilities"
N_FEATURES = 64
LABELS: tuple[str, ...] = tuple(str(digit) for digit in range(10))


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
    ModelSpec(
        name=digits_forest.NAME,
        version=digits_forest.VERSION,
        description=digits_forest.DESCRIPTION,
        factory=digits_forest.forest,
    ),
    ModelSpec(  # models/digits_heavy.py: built locally for benchmarks, not deployed by default
        name=HEAVY_NAME,
        version=HEAVY_VERSION,
        description=HEAVY_DESCRIPTION,
        factory=heavy,
        silence_convergence_warning=True,
    ),
)


def select_specs(only: Sequence[str] | None) -> list[ModelSpec]:
    """The specs named in ``only`` (all of them when it is empty), in registry order."""
    if not only:
        return list(REGISTRY)
    known = {spec.name: spec for spec in REGISTRY}
    unknown = [name for name in only if name not in known]
    if unknown:
        raise BuildError(f"unknown model(s) {unknown}; known: {sorted(known)}")
    return [spec for spec in REGISTRY if spec.name in set(only)]
