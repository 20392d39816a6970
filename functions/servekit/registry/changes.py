"""One alias change as one DynamoDB transaction: the alias item and its audit entry.

The alias is written only if its revision is still the one read (a new alias: only if it
does not exist yet), the audit entry only if that revision has none: a change either lands
whole, recorded, or not at all, and two writers racing on one revision never both land.
"""

from __future__ import annotations

from typing import Any

from servekit.registry import shapes
from servekit.registry.errors import RegistryConflictError
from servekit.registry.records import AliasRecord, AuditEntry

__all__ = ["write_change"]

_PK, _SK = shapes.TABLE_PARTITION_KEY, shapes.TABLE_SORT_KEY
_ABSENT = {
    "ConditionExpression": "attribute_not_exists(#pk)",
    "ExpressionAttributeNames": {"#pk": _PK},
}


def write_change(
    table: Any, current: AliasRecord | None, record: AliasRecord, action: str, reason: str
) -> None:
    """Write ``record`` (the alias's next revision) after ``current``, with its audit entry;
    :class:`RegistryConflictError` when another change got there first."""
    pk = shapes.model_key(record.name)
    entry = AuditEntry(
        name=record.name,
        alias=record.alias,
        revision=record.revision,
        action=action,
        from_version=None if current is None else current.version,
        to_version=record.version,
        actor=record.updated_by,
        at=record.updated_at,
        reason=reason,
        details={"rollout": record.rollout} if action == "rollout" else {},
    )
    condition: dict[str, Any] = _ABSENT
    if current is not None:
        condition = {
            "ConditionExpression": "#rev = :rev",
            "ExpressionAttributeNames": {"#rev": shapes.ATTR_REVISION},
            "ExpressionAttributeValues": {":rev": current.revision},
        }
    alias_item = {_PK: pk, _SK: shapes.alias_key(record.alias), **record.item()}
    audit_item = {_PK: pk, _SK: shapes.audit_key(record.alias, record.revision), **entry.item()}
    client = table.meta.client
    try:
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table.name, "Item": alias_item, **condition}},
                {"Put": {"TableName": table.name, "Item": audit_item, **_ABSENT}},
            ]
        )
    except client.exceptions.TransactionCanceledException:
        raise RegistryConflictError(
            f"{record.name}@{record.alias} changed while this {action} was being written "
            "(another promotion, rollback or rollout won): nothing was changed; read it "
            "again and retry"
        ) from None
