"""The session recommenders: their specs, registry and history encoding.

A session model scores every catalogue item as the session's next one. Its ONNX input is the
session history encoded as a float vector, one block of ``len(ITEMS)`` per *channel*; an event
adds ``decay ** age`` (age 0 = the latest event) at its item in its type's channel, for the
last ``context_events`` events. The outputs follow the digits models' contract (``label``
int64 [None], ``probabilities`` float32 [None, len(ITEMS)], labels = the item ids), so the
runtime loads them with the same loader. The manifest's ``session`` block carries the
encoding, which the runtime reads: one source of truth for builder and service.

* v1 (state schema 1) sees item ids only: one channel for every event type.
* v2 (state schema 2) sees (item, event type) pairs: one channel per type.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from models.session_data import EVENT_TYPES, ITEMS, SessionEvent
from models.specs import BuildError

__all__ = [
    "SESSION_REGISTRY",
    "SessionModelSpec",
    "encode_history",
    "select_session_specs",
]


@dataclass(frozen=True, slots=True)
class SessionModelSpec:
    """One session recommender: identity, the state shape it needs, and its encoding."""

    name: str
    version: str
    description: str
    state_schema: int
    channels: tuple[tuple[str, ...], ...]
    decay: float = 0.7
    context_events: int = 20
    min_hit_rate: float = 0.6
    """Floor for hit rate @5 on held-out sessions: a build under it fails."""

    @property
    def n_features(self) -> int:
        return len(self.channels) * len(ITEMS)

    def session_block(self) -> dict[str, Any]:
        """The manifest's ``session`` block: what the runtime needs to encode a history."""
        return {
            "state_schema": self.state_schema,
            "channels": [list(channel) for channel in self.channels],
            "decay": self.decay,
            "context_events": self.context_events,
            "event_types": list(EVENT_TYPES),
        }


def encode_history(spec: SessionModelSpec, events: Sequence[SessionEvent]) -> np.ndarray:
    """The model input (float32, [n_features]) for a session's history, oldest first."""
    vector = np.zeros(spec.n_features, dtype=np.float32)
    channel_of = {kind: index for index, channel in enumerate(spec.channels) for kind in channel}
    recent = list(events)[-spec.context_events :]
    for age, event in enumerate(reversed(recent)):
        offset = channel_of[event.type] * len(ITEMS)
        vector[offset + event.item] += np.float32(spec.decay**age)
    return vector


SESSION_REGISTRY: tuple[SessionModelSpec, ...] = (
    SessionModelSpec(
        name="session-recs-v1",
        version="1.0.0",
        description="Next-item recommender over the item ids seen in the session "
        "(recency-decayed history, multinomial logistic regression)",
        state_schema=1,
        channels=(EVENT_TYPES,),
    ),
    SessionModelSpec(
        name="session-recs-v2",
        version="2.0.0",
        description="Next-item recommender over (item, event type) pairs seen in the session "
        "(recency-decayed history per event type, multinomial logistic regression)",
        state_schema=2,
        channels=tuple((kind,) for kind in EVENT_TYPES),
        min_hit_rate=0.65,
    ),
)


def select_session_specs(only: Sequence[str] | None) -> list[SessionModelSpec]:
    """The session specs named in ``only`` (all of them when it is empty)."""
    if not only:
        return list(SESSION_REGISTRY)
    return [spec for spec in SESSION_REGISTRY if spec.name in set(only)]


def _check_registry() -> None:
    for spec in SESSION_REGISTRY:
        kinds = [kind for channel in spec.channels for kind in channel]
        if sorted(kinds) != sorted(EVENT_TYPES):
            raise BuildError(f"{spec.name}: channels must cover each event type once")


_check_registry()
