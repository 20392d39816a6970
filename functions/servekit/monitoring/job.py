"""The drift job: each served model's captured window against its reference profile.

Run by ``handlers/drift_job.py`` on a schedule (publishing metrics and writing the report to
the bucket) and by ``servekit drift report`` (reading only). A window is read version by
version: only the served version has a profile beside its manifest, so captures of other
versions are left to their own profiles. Labels joined by ``POST /feedback`` in the window
give Accuracy (classification) or MAE (regression).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from servekit.monitoring import shapes
from servekit.monitoring.bucket import CaptureBucket
from servekit.monitoring.columns import Columns, input_columns, output_columns
from servekit.monitoring.drift import DriftRules, compare
from servekit.monitoring.html import render
from servekit.monitoring.metrics import MonitoringMetrics
from servekit.monitoring.profile import Profile
from servekit.monitoring.reference import read_profile
from servekit.monitoring.settings import MonitoringSettings
from servekit.observability import names
from servekit.runtime.catalog import discover
from servekit.runtime.manifest import Manifest

__all__ = ["DriftJob", "served_profiles"]


def served_profiles(
    model_dir: Path, models: tuple[str, ...] = ()
) -> list[tuple[Manifest, Profile]]:
    """Each served model that has a reference profile, with it."""
    found = []
    for folder in discover(model_dir, models):
        manifest = Manifest.read(folder / "manifest.json")
        profile = read_profile(folder, manifest)
        if profile is not None:
            found.append((manifest, profile))
    return found


@dataclass
class DriftJob:
    bucket: CaptureBucket
    profiles: list[tuple[Manifest, Profile]]
    settings: MonitoringSettings
    metrics: MonitoringMetrics | None = None
    """None: compute only (the CLI); else publish every figure."""

    def run(self, end: datetime | None = None, publish: bool = True) -> list[dict[str, Any]]:
        end = end or datetime.now(UTC)
        start = end - timedelta(hours=self.settings.window_hours)
        reports = [self.report(m, p, start, end) for m, p in self.profiles]
        if publish:
            for report in reports:
                self.publish(report)
        return reports

    def report(
        self, manifest: Manifest, profile: Profile, start: datetime, end: datetime
    ) -> dict[str, Any]:
        records = list(
            self.bucket.read(shapes.CAPTURE_PREFIX, manifest.name, manifest.version, start, end)
        )
        features, outputs = window_columns(manifest, records)
        rules = DriftRules(alpha=self.settings.alpha, min_rows=self.settings.min_rows)
        verdict = compare(profile, features, outputs, rules)
        labelled = list(
            self.bucket.read(shapes.FEEDBACK_PREFIX, manifest.name, manifest.version, start, end)
        )
        return {
            "model": {"name": manifest.name, "version": manifest.version},
            "window": {"start": start.isoformat(), "end": end.isoformat()},
            "requests": len(records),
            **verdict,
            "feedback": feedback_figures(labelled),
        }

    def publish(self, report: dict[str, Any]) -> None:
        """Metrics (when a recorder is set) and the JSON and HTML report in the bucket."""
        model, version = report["model"]["name"], report["model"]["version"]
        if self.metrics is not None:
            if report["status"] != "insufficient_data":
                for kind in ("feature", "output"):
                    for column in report[f"{kind}s"]:
                        self.metrics.column_drift(
                            model, version, kind, column["name"], column["score"]
                        )
                self.metrics.window(model, version, drifted_count(report))
            feedback = report["feedback"]
            if feedback["rows"]:
                self.metrics.labelled(
                    model, version, feedback["metric"], feedback["value"], feedback["rows"]
                )
        end = datetime.fromisoformat(report["window"]["end"])
        for prefix in (
            f"{shapes.model_prefix(shapes.REPORTS_PREFIX, model, version)}{end:%Y%m%dT%H%M%SZ}",
            f"{shapes.model_prefix(shapes.REPORTS_PREFIX, model)}latest",
        ):
            self.bucket.put_json(f"{prefix}.json", report)
            self.bucket.put_json(
                f"{prefix}.html", render(report).encode(), "text/html; charset=utf-8"
            )


def drifted_count(report: dict[str, Any]) -> int:
    return sum(1 for c in (*report["features"], *report["outputs"]) if c["drifted"])


def window_columns(manifest: Manifest, records: list[dict[str, Any]]) -> tuple[Columns, Columns]:
    """The feature and output columns of a window's capture records (a record whose inputs
    do not fit the manifest, from an older signature, is skipped)."""
    parts: dict[str, list[Any]] = {}
    predictions: list[dict[str, Any]] = []
    for record in records:
        inputs = record.get("inputs") or {}
        if set(inputs) != {s.name for s in manifest.inputs}:
            continue
        for name, rows in inputs.items():
            parts.setdefault(name, []).append(np.asarray(rows))
        predictions += record.get("predictions") or []
    feeds = {name: np.concatenate(arrays) for name, arrays in parts.items()}
    outputs = output_columns(manifest, predictions) if predictions else {}
    return input_columns(manifest, feeds), outputs


def feedback_figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy (classification labels) or MAE (regression values) of the window's labels."""
    correct = [bool(r["correct"]) for r in rows if "correct" in r]
    errors = [float(r["error"]) for r in rows if "error" in r]
    if correct:
        return {
            "metric": names.ACCURACY,
            "value": round(sum(correct) / len(correct), 4),
            "rows": len(correct),
        }
    if errors:
        return {
            "metric": names.MAE,
            "value": round(sum(errors) / len(errors), 6),
            "rows": len(errors),
        }
    return {"metric": None, "value": None, "rows": 0}
