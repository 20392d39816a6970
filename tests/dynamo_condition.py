"""A small evaluator of DynamoDB condition expressions, for fakes of the low-level client.

It evaluates what it is given instead of guessing what the caller meant: comparisons
(``= <> < <= > >=``), ``attribute_exists``/``attribute_not_exists``, ``AND``/``OR``/``NOT``
and parentheses over ``#name`` placeholders, ``:value`` placeholders and plain attribute
names. Like DynamoDB, it refuses (``ValidationException``) a placeholder that is not defined
and a defined one the expression does not use, and compares values only of the same type.
Anything else it does not know is refused too, so a fake never passes what DynamoDB would not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

__all__ = ["condition_holds"]

_TOKEN = re.compile(r"\s*(<>|<=|>=|=|<|>|\(|\)|,|[#:]?[A-Za-z_][A-Za-z0-9_]*)")
_COMPARATORS = {"=", "<>", "<", "<=", ">", ">="}
_FUNCTIONS = {"attribute_exists", "attribute_not_exists"}


def validation_error(message: str) -> ClientError:
    return ClientError({"Error": {"Code": "ValidationException", "Message": message}}, "PutItem")


def condition_holds(
    expression: str,
    item: Mapping[str, Any] | None,
    names: Mapping[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
) -> bool:
    """Whether ``expression`` holds for ``item`` (typed attribute values; None: no item)."""
    parser = _Parser(_tokens(expression), dict(item or {}), dict(names or {}), dict(values or {}))
    result = parser.expression()
    if parser.position != len(parser.tokens):
        raise validation_error(f"unexpected {parser.tokens[parser.position]!r} in {expression!r}")
    unused_names = set(parser.names) - parser.used_names
    unused_values = set(parser.values) - parser.used_values
    if unused_names or unused_values:
        raise validation_error(f"unused in the expression: {sorted(unused_names | unused_values)}")
    return result


def _tokens(expression: str) -> list[str]:
    tokens, position = [], 0
    while position < len(expression.rstrip()):
        match = _TOKEN.match(expression, position)
        if match is None:
            raise validation_error(f"cannot parse {expression[position:]!r}")
        tokens.append(match.group(1))
        position = match.end()
    return tokens


class _Parser:
    def __init__(
        self,
        tokens: list[str],
        item: dict[str, Any],
        names: dict[str, str],
        values: dict[str, Any],
    ) -> None:
        self.tokens, self.position = tokens, 0
        self.item, self.names, self.values = item, names, values
        self.used_names: set[str] = set()
        self.used_values: set[str] = set()

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise validation_error(f"expected {expected or 'more'}, found {token!r}")
        self.position += 1
        return token

    def expression(self) -> bool:
        result = self.conjunction()
        while self.peek() is not None and self.peek().upper() == "OR":  # type: ignore[union-attr]
            self.take()
            result = self.conjunction() or result  # evaluate both: both must be valid
        return result

    def conjunction(self) -> bool:
        result = self.negation()
        while self.peek() is not None and self.peek().upper() == "AND":  # type: ignore[union-attr]
            self.take()
            result = self.negation() and result
        return result

    def negation(self) -> bool:
        if self.peek() is not None and self.peek().upper() == "NOT":  # type: ignore[union-attr]
            self.take()
            return not self.negation()
        return self.primary()

    def primary(self) -> bool:
        token = self.peek()
        if token == "(":
            self.take("(")
            result = self.expression()
            self.take(")")
            return result
        if token in _FUNCTIONS:
            self.take()
            self.take("(")
            present = self.path() in self.item
            self.take(")")
            return present if token == "attribute_exists" else not present
        left = self.operand()
        comparator = self.take()
        if comparator not in _COMPARATORS:
            raise validation_error(f"unsupported operator {comparator!r}")
        right = self.operand()
        return _compare(left, comparator, right)

    def path(self) -> str:
        token = self.take()
        if token.startswith("#"):
            if token not in self.names:
                raise validation_error(f"{token} is not defined in ExpressionAttributeNames")
            self.used_names.add(token)
            return self.names[token]
        if token.startswith(":") or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", token):
            raise validation_error(f"expected an attribute, found {token!r}")
        if token.upper() in {"AND", "OR", "NOT"}:
            raise validation_error(f"expected an attribute, found {token!r}")
        return token

    def operand(self) -> Any:
        token = self.peek()
        if token is not None and token.startswith(":"):
            self.take()
            if token not in self.values:
                raise validation_error(f"{token} is not defined in ExpressionAttributeValues")
            self.used_values.add(token)
            return self.values[token]
        return self.item.get(self.path())  # None: the attribute is absent


def _compare(left: Any, comparator: str, right: Any) -> bool:
    if left is None or right is None:
        return comparator == "<>" and (left is None) != (right is None)
    (left_type, left_value), (right_type, right_value) = *left.items(), *right.items()
    if left_type != right_type:
        return comparator == "<>"
    if left_type == "N":
        left_value, right_value = Decimal(left_value), Decimal(right_value)
    elif comparator not in {"=", "<>"} and left_type not in {"S", "B"}:
        raise validation_error(f"{comparator} does not apply to {left_type} values")
    return {
        "=": left_value == right_value,
        "<>": left_value != right_value,
        "<": left_value < right_value,
        "<=": left_value <= right_value,
        ">": left_value > right_value,
        ">=": left_value >= right_value,
    }[comparator]
