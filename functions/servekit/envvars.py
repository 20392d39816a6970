"""Typed readers of ``SERVEKIT_*`` environment variables, shared by every settings module.

Each raises :class:`SettingsError` naming the variable and the value found, so a bad deploy
fails at cold start with a line that says what to fix.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["SettingsError", "env_bool", "env_float", "env_int", "env_required"]

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class SettingsError(ValueError):
    """An environment variable holds a value the runtime cannot use."""


def env_int(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    """``name`` as an integer ≥ ``minimum``; ``default`` when unset or empty."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def env_float(
    env: Mapping[str, str], name: str, default: float, minimum: float, maximum: float
) -> float:
    """``name`` as a number in [``minimum``, ``maximum``]; ``default`` when unset or empty."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise SettingsError(f"{name} must be between {minimum:g} and {maximum:g}, got {value}")
    return value


def env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    """``name`` as a boolean (1/true/yes/on or 0/false/no/off); ``default`` when unset."""
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def env_required(env: Mapping[str, str], name: str) -> str:
    """``name``'s value; unset or empty is an error."""
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"{name} is not set")
    return value
