"""The registry table under moto: immutable versions, conditional alias changes, the audit
trail, and two concurrent promotions of which exactly one lands."""

from __future__ import annotations

import threading

import pytest

from servekit.registry.errors import (
    RegistryConflictError,
    RegistryError,
    UnknownAliasError,
    UnknownVersionError,
    VersionExistsError,
)
from tests.registry_support import Registry, push_version, registry

__all__ = ["registry"]


def test_a_version_is_immutable(registry: Registry) -> None:
    push_version(registry, "digits", "1.0.0", "digits-logreg")
    with pytest.raises(VersionExistsError, match="immutable"):
        push_version(registry, "digits", "1.0.0", "digits-mlp")
    assert registry.store.version("digits", "1.0.0").sha256 == (
        registry.store.versions("digits")[0].sha256
    )
    with pytest.raises(UnknownVersionError, match="push it first"):
        registry.store.promote("digits", "prod", "9.9.9", actor="a")


def test_two_concurrent_promotions_exactly_one_wins(registry: Registry) -> None:
    for version, source in (("1", "digits-logreg"), ("2", "digits-mlp"), ("3", "digits-trees")):
        push_version(registry, "digits", version, source)
    registry.store.promote("digits", "prod", "1", actor="setup")
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def promote(version: str) -> None:
        barrier.wait()
        try:
            outcomes[version] = registry.store.promote(
                "digits", "prod", version, actor=f"user-{version}", expected_revision=1
            )
        except RegistryConflictError as exc:
            outcomes[version] = exc

    threads = [threading.Thread(target=promote, args=(v,)) for v in ("2", "3")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    conflicts = [o for o in outcomes.values() if isinstance(o, RegistryConflictError)]
    assert len(conflicts) == 1, outcomes
    assert "changed" in str(conflicts[0])
    (winner,) = (v for v, o in outcomes.items() if not isinstance(o, RegistryConflictError))
    alias = registry.store.alias("digits", "prod")
    assert alias is not None
    assert (alias.version, alias.revision, alias.previous) == (winner, 2, ("1",))
    trail = registry.store.history("digits", "prod")
    assert [(e.revision, e.from_version, e.to_version) for e in trail] == [
        (1, None, "1"),
        (2, "1", winner),
    ]
    assert trail[1].actor == f"user-{winner}"


def test_a_promotion_from_a_stale_read_is_refused(registry: Registry) -> None:
    push_version(registry, "digits", "1", "digits-logreg")
    push_version(registry, "digits", "2", "digits-mlp")
    registry.store.promote("digits", "prod", "1", actor="a")
    registry.store.promote("digits", "prod", "2", actor="a", expected_revision=1)
    with pytest.raises(RegistryConflictError, match="revision 2, not 1"):
        registry.store.promote("digits", "prod", "1", actor="b", expected_revision=1)
    with pytest.raises(RegistryError, match="at 2 already"):
        registry.store.promote("digits", "prod", "2", actor="b")


def test_rollback_goes_to_the_previous_version_and_is_audited(registry: Registry) -> None:
    for version, source in (("1", "digits-logreg"), ("2", "digits-mlp"), ("3", "digits-trees")):
        push_version(registry, "digits", version, source)
        registry.store.promote("digits", "prod", version, actor="ci")
    back = registry.store.rollback("digits", "prod", actor="oncall", reason="p99 regressed")
    assert (back.version, back.previous) == ("2", ("1",))
    assert registry.store.rollback("digits", "prod", actor="oncall").version == "1"
    with pytest.raises(UnknownAliasError, match="no earlier version"):
        registry.store.rollback("digits", "prod", actor="oncall")
    last = registry.store.history("digits")[-2]
    assert (last.action, last.from_version, last.to_version, last.reason) == (
        "rollback", "3", "2", "p99 regressed",
    )  # fmt: skip
    with pytest.raises(UnknownAliasError, match="promote a version to it first"):
        registry.store.rollback("digits", "staging", actor="oncall")


def test_a_rollout_is_kept_opaque_and_audited(registry: Registry) -> None:
    push_version(registry, "digits", "1", "digits-logreg")
    push_version(registry, "digits", "2", "digits-mlp")
    registry.store.promote("digits", "prod", "1", actor="ci")
    rollout = {"candidate": "2", "kind": "canary", "weight": 10}
    record = registry.store.set_rollout(
        "digits", "prod", rollout, expected_revision=1, actor="ci", reason="canary 10%"
    )
    assert (record.version, record.candidate, record.rollout) == ("1", "2", rollout)
    assert registry.store.alias("digits", "prod") == record
    assert registry.store.history("digits")[-1].details == {"rollout": rollout}
    with pytest.raises(UnknownVersionError):
        registry.store.set_rollout(
            "digits", "prod", {"candidate": "7"}, expected_revision=2, actor="ci"
        )
    cleared = registry.store.set_rollout("digits", "prod", None, expected_revision=2, actor="ci")
    assert cleared.candidate is None and cleared.rollout is None
