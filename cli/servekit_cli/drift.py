"""``servekit drift report`` and ``servekit feedback``: what monitoring tells an operator.

``drift report`` runs the drift job's own comparison (servekit.monitoring.job) over the
captured window of one model, reading the capture bucket of the local stack (default) or a
deployed one (``--aws``/``--stage``) and the model's reference profile in ``--model-dir``;
it prints the verdict (or the JSON report) and writes ``report.json``, ``report.html`` and
one SVG per charted column into ``--out``. ``feedback`` posts each line of a JSONL file
(``{"prediction_id": ..., "label"|"value": ...}``) to ``POST /feedback``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from servekit_cli.commands import CommandError, one_line_errors
from servekit_cli.http import ApiError
from servekit_cli.models.add import DEFAULT_DIR
from servekit_cli.target import add_target_arguments, target_from_args

__all__ = ["add_parser", "parse_since"]

_SINCE = re.compile(r"^(\d+)([mhd])$")


def add_parser(commands: Any) -> None:
    drift = commands.add_parser("drift", help="input and output drift of the served models")
    actions = drift.add_subparsers(dest="drift_command", required=True)
    report = actions.add_parser("report", help="compare captured traffic with the reference")
    report.add_argument("--model", required=True, help="the model to report on")
    report.add_argument(
        "--since", default="24h", help="window start: 30m, 6h, 2d or ISO 8601 (default 24h)"
    )
    report.add_argument("--json", action="store_true", help="print the JSON report")
    report.add_argument(
        "--out",
        type=Path,
        default=Path("drift-report"),
        help="where the plots go (default drift-report/)",
    )
    report.add_argument(
        "--model-dir",
        type=Path,
        default=DEFAULT_DIR,
        help=f"where the model and its reference profile are (default {DEFAULT_DIR})",
    )
    add_target_arguments(report)
    report.set_defaults(run=one_line_errors(_report, "drift report"))
    feedback = commands.add_parser(
        "feedback", help="send ground-truth labels (JSONL) to POST /feedback"
    )
    feedback.add_argument(
        "file", type=Path, help="JSONL: {prediction_id, row?, label | value} per line"
    )
    feedback.add_argument("--api-url", default=None, help="the API (default: the stack's)")
    add_target_arguments(feedback)
    feedback.set_defaults(run=one_line_errors(_feedback, "feedback"))


def parse_since(raw: str, now: datetime) -> datetime:
    match = _SINCE.match(raw.strip())
    if match:
        unit = {"m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
        return now - timedelta(**{unit: int(match.group(1))})
    try:
        since = datetime.fromisoformat(raw)
    except ValueError:
        raise CommandError(f"--since {raw!r}: give 30m, 6h, 2d or an ISO 8601 time") from None
    return since if since.tzinfo else since.replace(tzinfo=UTC)


def _report(args: argparse.Namespace) -> int:
    from servekit.monitoring import shapes
    from servekit.monitoring.bucket import CaptureBucket
    from servekit.monitoring.html import render, svg_chart
    from servekit.monitoring.job import DriftJob, drifted_count, served_profiles
    from servekit.monitoring.settings import MonitoringSettings

    profiles = served_profiles(args.model_dir, (args.model,))
    if not profiles:
        raise CommandError(
            f"{args.model_dir / args.model} has no reference profile for its model: add it "
            "with `servekit models add ... --reference DATA.jsonl` (or `make models`)"
        )
    target = target_from_args(args)
    bucket = CaptureBucket(target.client("s3"), target.output(shapes.OUTPUT_CAPTURE_BUCKET))
    job = DriftJob(bucket, profiles, MonitoringSettings.from_env())
    now = datetime.now(UTC)
    manifest, profile = profiles[0]
    report = job.report(manifest, profile, parse_since(args.since, now), now)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (args.out / "report.html").write_text(render(report), encoding="utf-8")
    for column in (c for c in (*report["features"], *report["outputs"]) if c["drifted"]):
        name = re.sub(r"[^A-Za-z0-9._-]", "_", column["name"])
        (args.out / f"{name}.svg").write_text(svg_chart(column), encoding="utf-8")
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"{manifest.name} {manifest.version}: {report['status']} ({report['requests']} "
        f"requests, {report['rows']} rows since {report['window']['start']})"
    )
    for column in sorted((*report["features"], *report["outputs"]), key=lambda c: -c["score"]):
        if column["drifted"]:
            tests = ", ".join(
                f"{k} {v['value']:.3g}>{v['critical']:.3g}"
                for k, v in column["statistics"].items()
                if v["value"] >= v["critical"]
            )
            print(f"  DRIFT {column['name']}: score {column['score']:.2f} ({tests})")
    feedback = report["feedback"]
    if feedback["rows"]:
        print(f"  {feedback['metric']}: {feedback['value']} over {feedback['rows']} labelled rows")
    print(f"{drifted_count(report)} column(s) drifted; plots in {args.out / 'report.html'}")
    return 0


def _feedback(args: argparse.Namespace) -> int:
    api = target_from_args(args).api(args.api_url)
    joined = refused = 0
    try:
        lines = args.file.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise CommandError(f"cannot read {args.file}: {exc}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            api.post("/feedback", json.loads(line))
            joined += 1
        except ValueError as exc:
            refused += 1
            print(f"line {number}: not JSON ({exc})", file=sys.stderr)
        except ApiError as exc:
            if exc.status == 0 or exc.status >= 500:
                raise
            refused += 1
            print(f"line {number}: {exc}", file=sys.stderr)
    print(json.dumps({"joined": joined, "refused": refused}))
    return 0 if not refused else 1
