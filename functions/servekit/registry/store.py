"""The registry table: versions, aliases and the audit trail, every change a conditional write.

An alias change (promote, rollback, rollout) is one transaction: the alias item, written only
if its revision is still the one read (or, for a new alias, if it does not exist), and its
audit entry, written only if that revision's entry does not exist. Two concurrent promotions
therefore never both land: one wins, the other gets :class:`RegistryConflictError`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, Key

from servekit.registry import shapes
from servekit.registry.changes import write_change
from servekit.registry.errors import (
    RegistryConflictError,
    RegistryError,
    UnknownAliasError,
    UnknownVersionError,
    VersionExistsError,
)
from servekit.registry.records import AliasRecord, AuditEntry, VersionRecord

__all__ = ["RegistryStore"]

_PK, _SK = shapes.TABLE_PARTITION_KEY, shapes.TABLE_SORT_KEY


class RegistryStore:
    """The registry on a boto3 DynamoDB ``Table`` (resource API)."""

    def __init__(self, table: Any) -> None:
        self.table = table

    def put_version(self, record: VersionRecord) -> None:
        """Record a new version; :class:`VersionExistsError` if it was pushed before."""
        item = {_PK: shapes.model_key(record.name), _SK: shapes.version_key(record.version)}
        try:
            self.table.put_item(
                Item={**item, **record.item()},
                ConditionExpression="attribute_not_exists(#pk)",
                ExpressionAttributeNames={"#pk": _PK},
            )
        except self.table.meta.client.exceptions.ConditionalCheckFailedException:
            raise VersionExistsError(
                f"{record.name} {record.version} was pushed before (versions are immutable): "
                "push under a new --version"
            ) from None

    def version(self, name: str, version: str) -> VersionRecord:
        item = self._get(shapes.model_key(name), shapes.version_key(version))
        if item is None:
            raise UnknownVersionError(f"{name} has no version {version!r}: push it first")
        return VersionRecord.from_item(item)

    def versions(self, name: str) -> list[VersionRecord]:
        return [VersionRecord.from_item(i) for i in self._query(name, shapes.version_key(""))]

    def names(self) -> list[str]:
        """Every model with a pushed version (a scan: for the CLI, never the serving path)."""
        found: set[str] = set()
        kwargs: dict[str, Any] = {"ProjectionExpression": "#n, #sk"}
        kwargs["ExpressionAttributeNames"] = {"#n": "name", "#sk": _SK}
        while True:
            page = self.table.scan(**kwargs)
            found.update(
                str(i["name"]) for i in page["Items"] if str(i[_SK]).startswith("VERSION#")
            )
            if "LastEvaluatedKey" not in page:
                return sorted(found)
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def alias(self, name: str, alias: str) -> AliasRecord | None:
        """The alias (a strongly consistent read: the watcher's one read per interval)."""
        item = self._get(shapes.model_key(name), shapes.alias_key(alias))
        return None if item is None else AliasRecord.from_item(item)

    def rollouts(self) -> list[AliasRecord]:
        """Every alias with a rollout plan (a scan: for the evaluator, never the serving path)."""
        kwargs: dict[str, Any] = {
            "FilterExpression": Attr(_SK).begins_with(shapes.alias_key(""))
            & Attr(shapes.ATTR_ROLLOUT).exists(),
            "ConsistentRead": True,
        }
        found: list[AliasRecord] = []
        while True:
            page = self.table.scan(**kwargs)
            found.extend(AliasRecord.from_item(item) for item in page["Items"])
            if "LastEvaluatedKey" not in page:
                return found
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def aliases(self, name: str) -> list[AliasRecord]:
        return [AliasRecord.from_item(i) for i in self._query(name, shapes.alias_key(""))]

    def history(self, name: str, alias: str | None = None) -> list[AuditEntry]:
        """The audit trail of ``name`` (of one alias, or all), oldest first per alias."""
        return [AuditEntry.from_item(i) for i in self._query(name, shapes.audit_prefix(alias))]

    def promote(
        self,
        name: str,
        alias: str,
        version: str,
        *,
        actor: str,
        reason: str = "",
        expected_revision: int | None = None,
    ) -> AliasRecord:
        """Point ``alias`` at ``version`` (which must exist), remembering the version before;
        any rollout on the alias ends (the rollouts capability promotes its candidate so)."""
        self.version(name, version)
        current = self._current(name, alias, expected_revision, required=False)
        if current is not None and current.version == version and current.rollout is None:
            raise RegistryError(f"{name}@{alias} is at {version} already: nothing to promote")
        previous = () if current is None else (*current.previous, current.version)
        change = (name, alias, version, previous[-shapes.MAX_PREVIOUS :], None)
        return self._write(current, change, "promote", actor, reason)

    def rollback(
        self,
        name: str,
        alias: str,
        *,
        actor: str,
        reason: str = "",
        expected_revision: int | None = None,
    ) -> AliasRecord:
        """Point ``alias`` back at the version it pointed at before; any rollout ends."""
        current = self._current(name, alias, expected_revision, required=True)
        assert current is not None
        if not current.previous:
            raise UnknownAliasError(f"{name}@{alias} has no earlier version to roll back to")
        change = (name, alias, current.previous[-1], current.previous[:-1], None)
        return self._write(current, change, "rollback", actor, reason)

    def set_rollout(
        self,
        name: str,
        alias: str,
        rollout: dict[str, Any] | None,
        *,
        expected_revision: int | None,
        actor: str,
        reason: str = "",
    ) -> AliasRecord:
        """Set (or, with ``None``, clear) the alias's opaque ``rollout`` map; a ``candidate``
        it names must be a pushed version."""
        current = self._current(name, alias, expected_revision, required=True)
        assert current is not None
        candidate = (rollout or {}).get(shapes.ROLLOUT_CANDIDATE)
        if candidate is not None:
            self.version(name, str(candidate))
        change = (name, alias, current.version, current.previous, rollout)
        return self._write(current, change, "rollout", actor, reason)

    def _current(
        self, name: str, alias: str, expected: int | None, *, required: bool
    ) -> AliasRecord | None:
        current = self.alias(name, alias)
        if current is None and required:
            raise UnknownAliasError(f"{name} has no alias {alias!r}: promote a version to it first")
        found = None if current is None else current.revision
        if expected is not None and expected != found:
            raise RegistryConflictError(
                f"{name}@{alias} is at revision {found}, not {expected}: it changed meanwhile"
            )
        return current

    def _write(
        self,
        current: AliasRecord | None,
        change: tuple[str, str, str, tuple[str, ...], dict[str, Any] | None],
        action: str,
        actor: str,
        reason: str,
    ) -> AliasRecord:
        """Write ``change`` (name, alias, version, previous, rollout) as the next revision."""
        name, alias, version, previous, rollout = change
        revision = 1 if current is None else current.revision + 1
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        record = AliasRecord(name, alias, version, revision, previous, rollout, actor, now)
        write_change(self.table, current, record, action, reason)
        return record

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self.table.get_item(
            Key={_PK: pk, _SK: sk}, ConsistentRead=True
        ).get("Item")
        return item

    def _query(self, name: str, prefix: str) -> list[dict[str, Any]]:
        condition = Key(_PK).eq(shapes.model_key(name)) & Key(_SK).begins_with(prefix)
        kwargs: dict[str, Any] = {"KeyConditionExpression": condition, "ConsistentRead": True}
        items: list[dict[str, Any]] = []
        while True:
            page = self.table.query(**kwargs)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
