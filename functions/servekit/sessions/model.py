"""The served session model: history encoding (from its manifest) plus ONNX inference.

A session model is a classifier over the catalogue (labels = item ids) loaded by the shared
runtime loader (checksum, signature); its manifest's ``session`` block says how a history
becomes the input vector — the same block ``models/session_specs.py`` encoded the training data
with, so builder and service cannot drift.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from servekit.constants import MANIFEST_FILENAME
from servekit.runtime.errors import ModelLoadError
from servekit.runtime.model import LoadedModel
from servekit.sessions.events import Event
from servekit.sessions.migration import UnsupportedSchemaError, check_servable

__all__ = ["Recommendation", "SessionModel"]


@dataclass(frozen=True, slots=True)
class Recommendation:
    item: str
    score: float


@dataclass(frozen=True, slots=True)
class SessionModel:
    loaded: LoadedModel
    state_schema: int
    channels: tuple[tuple[str, ...], ...]
    decay: float
    context_events: int
    event_types: tuple[str, ...]

    @classmethod
    def from_loaded(cls, loaded: LoadedModel, model_dir: Any) -> SessionModel:
        """Wrap a loaded model; its manifest must carry a valid ``session`` block."""
        path = model_dir / loaded.name / MANIFEST_FILENAME
        try:
            block = json.loads(path.read_text(encoding="utf-8"))["session"]
            model = cls(
                loaded=loaded,
                state_schema=int(block["state_schema"]),
                channels=tuple(tuple(str(t) for t in ch) for ch in block["channels"]),
                decay=float(block["decay"]),
                context_events=int(block["context_events"]),
                event_types=tuple(str(t) for t in block["event_types"]),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelLoadError(f"{loaded.name} is not a session model: {exc!r}") from exc
        try:
            check_servable(loaded.name, model.state_schema)
        except UnsupportedSchemaError as exc:
            raise ModelLoadError(str(exc)) from exc
        width = len(model.channels) * len(model.items)
        if loaded.manifest.input.shape[1:] != (width,):
            raise ModelLoadError(f"{loaded.name}: input width is not {width}")
        return model

    @property
    def name(self) -> str:
        return self.loaded.name

    @property
    def version(self) -> str:
        return self.loaded.version

    @property
    def items(self) -> tuple[str, ...]:
        return self.loaded.manifest.labels

    def encode(self, events: Sequence[Event]) -> npt.NDArray[np.float32]:
        """The model input ([1, width]) for a history, oldest event first."""
        index = {item: i for i, item in enumerate(self.items)}
        channel_of = {kind: c for c, channel in enumerate(self.channels) for kind in channel}
        vector = np.zeros((1, len(self.channels) * len(self.items)), dtype=np.float32)
        for age, event in enumerate(reversed(list(events)[-self.context_events :])):
            position = index.get(event.item)
            channel = channel_of.get(event.type)
            if position is None or channel is None:
                continue  # an item retired from the catalogue: it no longer informs the model
            vector[0, channel * len(self.items) + position] += np.float32(self.decay**age)
        return vector

    def recommend(
        self, events: Sequence[Event], k: int, exclude_seen: bool
    ) -> list[Recommendation]:
        """The ``k`` most likely next items; items already in the history left out if asked."""
        scores = self.loaded.predict(self.encode(events)).probabilities[0].astype(np.float64)
        if exclude_seen:
            seen = {event.item for event in events}
            for position, item in enumerate(self.items):
                if item in seen:
                    scores[position] = -1.0
        order = np.argsort(-scores, kind="stable")[:k]
        return [
            Recommendation(item=self.items[i], score=round(float(scores[i]), 6))
            for i in order
            if scores[i] >= 0.0
        ]
