"""The data and the training: a fixed split of the digits dataset, and deterministic fits.

The digits dataset is bundled with scikit-learn (8x8 images, 64 pixel features valued 0..16,
classes 0-9): nothing is downloaded. Every random state is fixed in the specs, and training
runs on one BLAS/OpenMP thread, so the same library versions fit the same weights.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from models.specs import ModelSpec

__all__ = [
    "SPLIT_RANDOM_STATE",
    "SPLIT_TEST_SIZE",
    "FloatArray",
    "IntArray",
    "Split",
    "load_split",
    "train",
]

SPLIT_TEST_SIZE = 0.25
SPLIT_RANDOM_STATE = 0

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


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


def train(spec: ModelSpec, split: Split) -> Any:
    """A fresh estimator from ``spec``'s factory, fitted on the training rows.

    A ConvergenceWarning fails the fit unless the spec stops early on purpose.
    """
    estimator = spec.factory()
    # One BLAS/OpenMP thread: multi-threaded reductions may sum floats in another order.
    with threadpool_limits(limits=1), warnings.catch_warnings():
        if spec.silence_convergence_warning:
            warnings.simplefilter("ignore", category=ConvergenceWarning)
        else:
            warnings.simplefilter("error", category=ConvergenceWarning)
        estimator.fit(split.x_train, split.y_train)
    return estimator
