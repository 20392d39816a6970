"""digits-wide: the example model where an inference cache is meant to pay.

The same contract as the other digits models (models/specs.py), with a network ten times
digits-mlp's: hidden layers of 3072, 3072 and 2048 units, 16 million weights (64 MB of ONNX),
about 4 ms per row on one vCPU where digits-mlp takes a few tenths.
A cache hit (well under a millisecond, even from Redis) saves most of a request's time here,
so the cache's cost-aware admission (docs/cache.md) keeps the shared cache on for it, while it
serves digits-mlp from the model and the in-process near cache alone.

It is built with the others (``python models/build.py --out models/artifacts``, or
``--only digits-wide``), deterministically like them (fixed random state, one BLAS thread),
for the cache and batching benchmarks and the tests. It is not in cdk.json's
``inference.models``: a 64 MB model would weigh on every deployed function's code asset and
cold start for an example, so deploying it is a choice (add its name there, and mind Lambda's 250 MB
unzipped code limit).
"""

from __future__ import annotations

from typing import Any

from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

__all__ = ["HEAVY_DESCRIPTION", "HEAVY_HIDDEN_LAYERS", "HEAVY_NAME", "HEAVY_VERSION", "heavy"]

# After digits-logreg by name: `servekit serve` serves the first folder by default.
HEAVY_NAME = "digits-wide"
HEAVY_VERSION = "1.0.0"
HEAVY_HIDDEN_LAYERS = (3072, 3072, 2048)
HEAVY_DESCRIPTION = (
    "Wide multi-layer perceptron (3072-3072-2048, ReLU) on standardized pixels: "
    "a few ms per row, where caching pays"
)


def heavy() -> Any:
    """The unfitted estimator; few epochs, since a wide network fits the digits quickly."""
    return Pipeline(
        [
            ("scale", StandardScaler()),
            (
                "classify",
                MLPClassifier(
                    hidden_layer_sizes=HEAVY_HIDDEN_LAYERS,
                    solver="adam",
                    batch_size=200,
                    learning_rate_init=1e-3,
                    max_iter=8,
                    early_stopping=False,
                    shuffle=True,
                    random_state=0,
                ),
            ),
        ]
    )
