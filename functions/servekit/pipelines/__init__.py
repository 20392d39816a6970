"""Composed serving: prep-pred, serial (with routing) and parallel pipelines of models and
Python steps, declared in a spec, validated before serving, run with a per-step trace.

Nothing is imported here: the CLI reads ``pipelines.shapes`` without the executor."""

__all__: list[str] = []
