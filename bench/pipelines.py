"""The example pipelines on held-out digits, and what composing costs.

* accuracy on the 450 held-out rows of the models' own split (models/training.load_split),
  one request per row as traffic arrives: each ensemble member, ``digits-ensemble``,
  ``digits-mlp`` alone and ``digits-cascade`` (with the share of rows it escalated);
* latency, one row, medians: ``digits-cascade`` against ``digits-mlp`` called directly;
* inline per-step overhead: a four-step pipeline (logreg, mlp, forest, logreg, each reading
  the request) through the executor, and through PipelinesService.predict (plus the answer's
  body and metrics, cleared per request as the Lambda flush does), against the same four
  ``catalog.feeds`` + ``LoadedModel.run`` calls, interleaved in one loop; the difference of
  the medians divided by four (target: <= 0.1 ms per step);
* function-placed per-step overhead: the same four steps placed as ``function``, through the
  local invoker (the Lambda payload, JSON both ways, through the step handler's code), against
  the direct calls; per step, and the payload's share of it (without the network hop of AWS);
* ``digits-ensemble`` against its slowest member and the sum of its members, each called
  directly (target: <= 1.2x the slowest, i.e. really parallel).

Run: python bench/pipelines.py   (needs `make models`)
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import MODEL_DIR, REPO_ROOT, apply_env, emit, require_models
from aws_lambda_powertools import Metrics

from models.training import load_split
from servekit.pipelines.codec import PipelineRequest
from servekit.pipelines.executor import Executor
from servekit.pipelines.metrics import PipelineMetrics
from servekit.pipelines.service import PipelinesService
from servekit.pipelines.settings import PipelinesSettings
from servekit.pipelines.spec import parse_pipelines
from servekit.pipelines.values import Deadline
from servekit.pipelines.wiring import pipelines_service
from servekit.runtime.catalog import ModelCatalog
from servekit.runtime.loader import load_model

MEMBERS = ("digits-logreg", "digits-mlp", "digits-trees")
ITERATIONS = 2000
TARGET_STEP_OVERHEAD_MS = 0.1
TARGET_ENSEMBLE_RATIO = 1.2


def _median_ms(call: Callable[[], Any], iterations: int = ITERATIONS) -> float:
    times = []
    for _ in range(iterations):
        started = time.perf_counter_ns()
        call()
        times.append(time.perf_counter_ns() - started)
    return statistics.median(times) / 1e6


class _Bench:
    def __init__(self) -> None:
        self.catalog = ModelCatalog.of_models([load_model(MODEL_DIR / m, 1) for m in MEMBERS])
        spec = json.loads((REPO_ROOT / "pipelines.json").read_text())
        self.steps = [*MEMBERS, MEMBERS[0]]
        chain = [{"kind": "model", "model": m, "input": "request"} for m in self.steps]
        spec["pipelines"]["four-steps"] = {"root": {"kind": "sequence", "steps": chain}}
        placed = [
            {**step, "name": f"s{i}", "placement": "function"} for i, step in enumerate(chain)
        ]
        spec["pipelines"]["four-placed"] = {"root": {"kind": "sequence", "steps": placed}}
        manifests = {m.name: m for m in self.catalog.manifests()}
        self.pipelines = parse_pipelines(spec, manifests)
        self.sink = Metrics(namespace="ServekitBench")
        self.executor = Executor(self.catalog)
        self.service = PipelinesService(self.pipelines, self.executor, PipelineMetrics(self.sink))
        self.placed = pipelines_service(self.pipelines, self.catalog, PipelinesSettings())
        self.split = load_split()
        self.rows = [[float(v) for v in row] for row in self.split.x_test]
        self.tensor = self.split.x_test[:1].astype("float32")

    def predict(self, pipeline: str, row: list[float]) -> dict[str, Any]:
        body = self.service.predict(pipeline, PipelineRequest([row]))
        self.sink.clear_metrics()  # what the per-invocation flush does, without the print
        return body

    def label(self, pipeline: str, row: list[float]) -> tuple[int, dict[str, Any]]:
        body = self.predict(pipeline, row)
        return int(body["predictions"][0]["label"]), body

    def accuracy(self, figures: dict[str, Any]) -> None:
        truth = self.split.y_test
        for model in MEMBERS:
            outputs = self.catalog.model(model).run({"input": self.split.x_test.astype("float32")})
            hits = sum(int(p) == t for p, t in zip(outputs["label"], truth, strict=True))
            figures[f"accuracy_{model}"] = round(hits / len(truth), 4)
        for pipeline in ("digits-ensemble", "digits-cascade"):
            answers = [self.label(pipeline, row) for row in self.rows]
            hits = sum(a[0] == t for a, t in zip(answers, truth, strict=True))
            figures[f"accuracy_{pipeline}"] = round(hits / len(truth), 4)
        escalated = sum(len(b["trace"]) == 3 for _, b in answers)  # the cascade's
        figures["cascade_share_escalated"] = round(escalated / len(truth), 4)
        mlp = self.catalog.model("digits-mlp")
        figures["latency_mlp_direct_ms"] = round(
            _median_ms(lambda: mlp.run({"input": self.tensor})), 4
        )
        row = self.rows[0]
        latency = _median_ms(lambda: self.label("digits-cascade", row))
        figures["latency_cascade_ms"] = round(latency, 4)

    def overhead(self, figures: dict[str, Any]) -> None:
        direct, executed, piped = [], [], []
        root, row = self.pipelines["four-steps"].root, self.rows[0]
        models = [self.catalog.model(m) for m in self.steps]
        for _ in range(ITERATIONS):
            started = time.perf_counter_ns()
            for model in models:
                model.run(self.catalog.feeds(model.manifest, [row]))
            direct.append(time.perf_counter_ns() - started)
            started = time.perf_counter_ns()
            self.executor.run(root, [row], [row], Deadline.after_ms(1000), [])
            executed.append(time.perf_counter_ns() - started)
            started = time.perf_counter_ns()
            self.predict("four-steps", row)
            piped.append(time.perf_counter_ns() - started)
        base = statistics.median(direct)
        per_step = (statistics.median(executed) - base) / len(self.steps) / 1e6
        per_request = (statistics.median(piped) - base) / len(self.steps) / 1e6
        figures["inline_step_overhead_median_ms"] = round(per_step, 4)
        figures["inline_step_overhead_with_body_and_metrics_ms"] = round(per_request, 4)
        figures["inline_step_overhead_ok"] = per_request <= TARGET_STEP_OVERHEAD_MS

    def placed_overhead(self, figures: dict[str, Any]) -> None:
        direct, placed = [], []
        root, row = self.pipelines["four-placed"].root, self.rows[0]
        models = [self.catalog.model(m) for m in self.steps]
        executor = self.placed.executor
        for _ in range(ITERATIONS // 2):
            started = time.perf_counter_ns()
            for model in models:
                model.run(self.catalog.feeds(model.manifest, [row]))
            direct.append(time.perf_counter_ns() - started)
            started = time.perf_counter_ns()
            executor.run(root, [row], [row], Deadline.after_ms(1000), [])
            placed.append(time.perf_counter_ns() - started)
        per_step = (statistics.median(placed) - statistics.median(direct)) / len(self.steps) / 1e6
        figures["function_step_overhead_local_invoker_median_ms"] = round(per_step, 4)

    def ensemble(self, figures: dict[str, Any]) -> None:
        members = {
            m: _median_ms(lambda m=m: self.catalog.model(m).run({"input": self.tensor}), 500)
            for m in MEMBERS
        }
        row = self.rows[0]
        ensemble = _median_ms(lambda: self.label("digits-ensemble", row), 500)
        figures["ensemble_members_ms"] = {m: round(v, 4) for m, v in members.items()}
        figures["ensemble_ms"] = round(ensemble, 4)
        figures["ensemble_vs_slowest"] = round(ensemble / max(members.values()), 3)
        figures["ensemble_vs_sum"] = round(ensemble / sum(members.values()), 3)
        figures["ensemble_parallel_ok"] = figures["ensemble_vs_slowest"] <= TARGET_ENSEMBLE_RATIO


def main() -> None:
    require_models()
    apply_env()
    bench = _Bench()
    figures: dict[str, Any] = {"held_out_rows": len(bench.rows)}
    bench.accuracy(figures)
    bench.overhead(figures)
    bench.placed_overhead(figures)
    bench.ensemble(figures)
    emit(figures)


if __name__ == "__main__":
    main()
