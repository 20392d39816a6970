"""The input shapes a model is served with: the graph's, completed by ``--shape``.

The first dimension of every input is the batch: it must be free. Every other dimension the
graph leaves free (unnamed, or named like ``"seq"``) must be settled by the user, because a
free dimension lets any length through to the model: ``--shape INPUT=D1,D2,...`` gives the
dimensions after the batch one, each an int (fixed) or a name (deliberately free: requests
may send any length, and inputs sharing the name must agree).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from servekit.runtime.manifest import Dim, TensorSpec
from servekit_cli.commands import CommandError

__all__ = ["apply_shapes", "parse_shapes"]


def parse_shapes(values: Sequence[str]) -> dict[str, tuple[Dim, ...]]:
    """``--shape`` values (``INPUT=D1,D2``) by input name; a dim is an int or a name."""
    shapes: dict[str, tuple[Dim, ...]] = {}
    for value in values:
        name, sep, dims = value.partition("=")
        if not sep or not name or not dims:
            raise CommandError(
                f"--shape {value!r}: write INPUT=D1,D2,... (the dimensions after the batch "
                "one, each an int or a name), e.g. --shape tokens=128"
            )
        if name in shapes:
            raise CommandError(f"--shape gives input {name!r} twice")
        shapes[name] = tuple(_dim(part.strip(), value) for part in dims.split(","))
    return shapes


def _dim(part: str, value: str) -> Dim:
    if part.isdigit():
        return int(part)
    if part.isidentifier():
        return part
    raise CommandError(f"--shape {value!r}: {part!r} is neither a whole number nor a name")


def apply_shapes(
    inputs: Sequence[TensorSpec], shapes: Mapping[str, tuple[Dim, ...]]
) -> tuple[TensorSpec, ...]:
    """``inputs`` with the ``--shape`` dims applied; a refusal for every shape servekit cannot
    serve as it stands (a fixed batch, a free dimension left unsettled)."""
    names = [spec.name for spec in inputs]
    unknown = sorted(set(shapes) - set(names))
    if unknown:
        raise CommandError(f"--shape names input {unknown[0]!r}; the model's inputs are {names}")
    return tuple(_shaped(spec, shapes.get(spec.name)) for spec in inputs)


def _shaped(spec: TensorSpec, given: tuple[Dim, ...] | None) -> TensorSpec:
    if not spec.shape or isinstance(spec.shape[0], int):
        first = "no dimensions" if not spec.shape else f"a fixed first dimension {spec.shape[0]}"
        raise CommandError(
            f"input {spec.name!r} has {first}: servekit batches rows along a free first "
            "dimension. Export it with a dynamic batch axis (torch.onnx.export(..., "
            f"dynamic_axes={{'{spec.name}': {{0: 'batch'}}}}); skl2onnx: "
            "FloatTensorType([None, n_features]))"
        )
    row = spec.shape[1:]
    if given is None:
        free = [axis for axis, dim in enumerate(row, start=1) if not isinstance(dim, int)]
        if free:
            axis = free[0]
            suggested = ",".join(str(d) if isinstance(d, int) else "LENGTH" for d in row)
            kept = ",".join(
                str(d) if isinstance(d, int) else (d or f"d{i}") for i, d in enumerate(row, start=1)
            )
            raise CommandError(
                f"input {spec.name!r} has a free dimension {axis} ({_word(row[axis - 1])}) "
                f"besides the batch: pass --shape {spec.name}={suggested} with the length it "
                f"takes, or --shape {spec.name}={kept} to keep it free on purpose"
            )
        return spec
    if len(given) != len(row):
        raise CommandError(
            f"--shape {spec.name}= gives {len(given)} dimensions; input {spec.name!r} has "
            f"{len(row)} after the batch one ({_words(row)})"
        )
    for axis, (graph, wanted) in enumerate(zip(row, given, strict=True), start=1):
        if isinstance(graph, int) and graph != wanted:
            raise CommandError(
                f"--shape {spec.name}=: dimension {axis} is fixed at {graph} in the graph, "
                f"not {wanted}"
            )
    return spec._replace(shape=(spec.shape[0], *given))


def _word(dim: Dim) -> str:
    return "unnamed" if dim is None else repr(dim) if isinstance(dim, str) else str(dim)


def _words(row: Sequence[Dim]) -> str:
    return ", ".join(_word(d) for d in row)
