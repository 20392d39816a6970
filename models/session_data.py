"""The session recommender's data: a synthetic shop and the sessions its shoppers produce.

Nothing is downloaded: the catalogue and the sessions come from a seeded process, so two
builds see the same data. The shop has :data:`N_CATEGORIES` categories of
:data:`ITEMS_PER_CATEGORY` items (``item-00`` .. ``item-47``). A shopper browses forward
within a category (item i, then usually item i+1 of the same category) and, after putting an
item in the cart or buying it, usually moves on to its *complement*: the item at the same
position in the next category (a phone, then its case). So the event type matters: a model
that sees only item ids cannot tell "keep browsing" from "go to the complement", one that sees
the types can — which is what the two model versions differ in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "EVENT_TYPES",
    "ITEMS",
    "ITEMS_PER_CATEGORY",
    "N_CATEGORIES",
    "SessionEvent",
    "complement",
    "generate_sessions",
    "next_in_category",
]

N_CATEGORIES = 8
ITEMS_PER_CATEGORY = 6
ITEMS: tuple[str, ...] = tuple(f"item-{i:02d}" for i in range(N_CATEGORIES * ITEMS_PER_CATEGORY))
EVENT_TYPES: tuple[str, ...] = ("view", "cart", "purchase")

# How shoppers behave (probabilities of the generating process).
_TYPE_PROBABILITIES = (0.72, 0.22, 0.06)  # view, cart, purchase
_AFTER_INTENT = (0.75, 0.15)  # after cart/purchase: complement, next in category (else random)
_AFTER_VIEW = (0.65, 0.2)  # after a view: next in category, random in category (else anywhere)
_MIN_LENGTH, _MAX_LENGTH = 3, 12


@dataclass(frozen=True, slots=True)
class SessionEvent:
    """One interaction: the item's index in :data:`ITEMS` and the event type's name."""

    item: int
    type: str


def next_in_category(item: int) -> int:
    category, position = divmod(item, ITEMS_PER_CATEGORY)
    return category * ITEMS_PER_CATEGORY + (position + 1) % ITEMS_PER_CATEGORY


def complement(item: int) -> int:
    category, position = divmod(item, ITEMS_PER_CATEGORY)
    return ((category + 1) % N_CATEGORIES) * ITEMS_PER_CATEGORY + position


def _category_popularity() -> np.ndarray:
    weights = 1.0 / np.arange(1, N_CATEGORIES + 1)  # Zipf-like: a few big categories
    return np.asarray(weights / weights.sum(), dtype=np.float64)


def _next_item(rng: np.random.Generator, event: SessionEvent, popularity: np.ndarray) -> int:
    draw = rng.random()
    category = event.item // ITEMS_PER_CATEGORY
    if event.type != "view":
        if draw < _AFTER_INTENT[0]:
            return complement(event.item)
        if draw < sum(_AFTER_INTENT):
            return next_in_category(event.item)
    else:
        if draw < _AFTER_VIEW[0]:
            return next_in_category(event.item)
        if draw < sum(_AFTER_VIEW):
            return category * ITEMS_PER_CATEGORY + int(rng.integers(ITEMS_PER_CATEGORY))
    other = int(rng.choice(N_CATEGORIES, p=popularity))
    return other * ITEMS_PER_CATEGORY + int(rng.integers(ITEMS_PER_CATEGORY))


def generate_sessions(count: int, seed: int) -> list[list[SessionEvent]]:
    """``count`` sessions from the seeded process (same arguments, same sessions)."""
    rng = np.random.default_rng(seed)
    popularity = _category_popularity()
    sessions: list[list[SessionEvent]] = []
    for _ in range(count):
        length = int(rng.integers(_MIN_LENGTH, _MAX_LENGTH + 1))
        category = int(rng.choice(N_CATEGORIES, p=popularity))
        item = category * ITEMS_PER_CATEGORY + int(rng.integers(ITEMS_PER_CATEGORY))
        events: list[SessionEvent] = []
        for _ in range(length):
            kind = EVENT_TYPES[int(rng.choice(len(EVENT_TYPES), p=_TYPE_PROBABILITIES))]
            event = SessionEvent(item=item, type=kind)
            events.append(event)
            item = _next_item(rng, event, popularity)
        sessions.append(events)
    return sessions
