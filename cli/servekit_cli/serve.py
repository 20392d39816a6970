"""``servekit serve``: the same FastAPI app as in Lambda, on 127.0.0.1 under uvicorn."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from servekit import constants
from servekit.cache.shapes import ENV_CACHE_BACKEND, ENV_CACHE_URL
from servekit.pipelines.shapes import ENV_PIPELINES_SPEC, SPEC_FILENAME

if TYPE_CHECKING:
    from servekit_cli.local.stack import LocalStack

__all__ = ["add_parser", "cache_environment", "curl_example", "pipelines_environment"]

_DESCRIPTION = """\
Serve the inference API locally, with an embedded AWS (moto) holding the queues, tables and
buckets, and pollers running the queue workers. The first server started in a directory writes
where its embedded AWS is to .servekit/local.json, which `servekit jobs`, `dlq` and `batch`
read, and removes that file when it stops. A second server started while the first runs (on
another --port, e.g. to try Redis or the GPU proxy) has its own embedded AWS but leaves the
file to the first, so the CLI keeps talking to the first one; stopping the second changes
nothing for it. With --no-aws a server never touches the file. A file left by a server that
was killed is taken over by the next one.
"""


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "serve",
        help="serve the inference API locally",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--model-dir", type=Path, default=Path("models/artifacts"))
    parser.add_argument("--models", default="", help="comma-separated names (default: all)")
    parser.add_argument(
        "--default-model",
        default=None,
        help="the model /predict serves when a request names none (default: the first of "
        "--models, else the first model folder under --model-dir)",
    )
    parser.add_argument(
        "--emit-metrics", action="store_true", help="print EMF metric blobs to stdout"
    )
    parser.add_argument(
        "--gpu-url",
        default=None,
        help="serve POST /gpu/predict by proxying to a serving container at this URL "
        "(python -m servekit.container); SERVEKIT_GPU_LOCAL_URL works too",
    )
    parser.add_argument(
        "--no-aws",
        action="store_true",
        help="serve /predict only, without the embedded AWS (moto) and the queue pollers "
        "(and never touch .servekit/local.json)",
    )
    parser.add_argument(
        "--aws-port", type=int, default=0, help="port of the embedded AWS (default: a free one)"
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("SERVEKIT_CACHE_URL", ""),
        help="inference cache on Redis/Valkey, e.g. redis://127.0.0.1:6379/0 "
        "(default: an in-process LRU cache)",
    )
    parser.add_argument("--no-cache", action="store_true", help="serve without any cache")
    parser.add_argument(
        "--pipelines",
        type=Path,
        default=None,
        help="the pipeline spec to serve under /pipelines (default: ./pipelines.json when it "
        "exists; SERVEKIT_PIPELINES_SPEC works too)",
    )
    parser.set_defaults(run=run)


def pipelines_environment(spec: Path | None) -> dict[str, str]:
    """The spec ``--pipelines`` names, else ``./pipelines.json`` where it exists (absolute:
    the server may change directory), else none (SERVEKIT_PIPELINES_SPEC stays as it is)."""
    if spec is None and Path(SPEC_FILENAME).is_file():
        spec = Path(SPEC_FILENAME)
    return {} if spec is None else {ENV_PIPELINES_SPEC: str(spec.resolve())}


def _inference_router(service: Any) -> Any:
    """The inference routes, the V2 protocol's and the pipelines' (SERVEKIT_PIPELINES_SPEC),
    as the inference Lambda mounts them."""
    from servekit.inference import routes
    from servekit.monitoring.wiring import include_monitoring
    from servekit.pipelines.wiring import include_pipelines
    from servekit.v2.wiring import include_v2

    inference = include_v2(routes.router(service), service)
    return include_monitoring(include_pipelines(inference, service), service)


def default_model(model_dir: Path, models: str) -> str | None:
    """The model served by default: the first of ``models``, else the first folder (by name)
    under ``model_dir`` holding a manifest; None when there is none."""
    named = [name.strip() for name in models.split(",") if name.strip()]
    if named:
        return named[0]
    found = sorted(p.parent.name for p in model_dir.glob(f"*/{constants.MANIFEST_FILENAME}"))
    return found[0] if found else None


def run(args: argparse.Namespace) -> int:
    if args.default_model is None:
        args.default_model = default_model(args.model_dir, args.models)
    if (
        args.default_model is None
        or not (args.model_dir / args.default_model / constants.MANIFEST_FILENAME).is_file()
    ):
        what = f"model {args.default_model!r}" if args.default_model else "model"
        print(
            f"no {what} under {args.model_dir}: run `make models` first, or give "
            "--model-dir the folder holding <name>/model.onnx and <name>/manifest.json",
            file=sys.stderr,
        )
        return 2
    if not _port_free(args.host, args.port):
        print(f"port {args.port} on {args.host} is in use: pass --port N", file=sys.stderr)
        return 2
    os.environ.update(
        {
            constants.ENV_MODEL_DIR: str(args.model_dir),
            constants.ENV_MODELS: args.models,
            constants.ENV_DEFAULT_MODEL: args.default_model,
        }
    )
    os.environ.update(cache_environment(args.redis_url, enabled=not args.no_cache))
    os.environ.update(pipelines_environment(args.pipelines))
    if not args.emit_metrics:
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")

    import uvicorn

    from servekit.gpu_proxy.shapes import ENV_LOCAL_URL
    from servekit.gpu_proxy.wiring import router_from_env as gpu_router_from_env
    from servekit.inference.wiring import build_inference_service
    from servekit.pipelines.spec import PipelineSpecError
    from servekit.transports.rest import create_app

    if args.gpu_url:
        os.environ[ENV_LOCAL_URL] = args.gpu_url
    gpu_router = gpu_router_from_env()  # before the local AWS: a bad URL stops here
    local_aws = None
    routers: list[Any] = []
    if not args.no_aws:
        from servekit_cli.local.poller import load_object
        from servekit_cli.local.stack import LocalStack

        local_aws = LocalStack(
            port=args.aws_port, api_url=f"http://{_client_host(args.host)}:{args.port}"
        ).start()
        _follow_local_registry()
        routers = [load_object(spec)() for spec in local_aws.resources.routers]
    if gpu_router is not None:
        routers.append(gpu_router)
    try:
        service = build_inference_service(rollouts=_local_rollouts(local_aws is not None))
        try:
            inference = _inference_router(service)
        except PipelineSpecError as exc:
            print(f"the pipeline spec cannot be served: {exc} (--pipelines FILE)", file=sys.stderr)
            return 2
        app = create_app([inference, *routers], flush_metrics_per_request=True)
        url = f"http://{args.host}:{args.port}"
        print(f"\nservekit is serving on {url}  (API docs: {url}/docs)")
        if local_aws is not None:
            print(
                f"embedded AWS (moto) on {local_aws.emulator.endpoint_url}; "
                f"{len(local_aws.pollers)} queue and stream poller(s); " + _state_note(local_aws)
            )
        print("Try it:\n\n  " + curl_example(url, args.model_dir / args.default_model) + "\n")
        sys.stdout.flush()
        # uvicorn re-raises SIGTERM after its graceful shutdown; exiting through SystemExit
        # instead lets the finally below stop the pollers and remove the state file.
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    finally:
        if local_aws is not None:
            local_aws.stop()
    return 0


def _local_rollouts(local_aws: bool) -> Any:
    """Serving from the local registry: rollout serving recording local figures, with the
    evaluator judging them on an interval in this process (a daemon thread); else None."""
    from servekit.registry.shapes import ENV_MODEL_SOURCE

    if not local_aws or os.environ.get(ENV_MODEL_SOURCE) != "registry":
        return None
    from servekit_cli.local.rollouts import local_rollouts

    rollouts, evaluator = local_rollouts()
    evaluator.start()
    return rollouts


def _follow_local_registry() -> None:
    """Serve from the local stack's registry (models without an alias keep their bundled
    copy), unless SERVEKIT_MODEL_SOURCE says otherwise."""
    from servekit_cli.local.registry import serving_environment

    os.environ.update(serving_environment(os.environ))


def _state_note(local_aws: LocalStack) -> str:
    if local_aws.owns_state_file:
        return f"state in {local_aws.state_file} (the CLI's local stack)"
    owner = local_aws.state_owner
    where = (owner.api_url or owner.endpoint_url) if owner is not None else "another server"
    return (
        f"{local_aws.state_file} stays with the server on {where}: "
        "`servekit jobs`/`dlq`/`batch` keep talking to that one, not to this server"
    )


def _client_host(host: str) -> str:
    """Where a client on this machine reaches a server bound to ``host``."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def cache_environment(redis_url: str, *, enabled: bool = True) -> dict[str, str]:
    """SERVEKIT_CACHE_* for the local server: Redis when given a URL, else the in-process LRU."""
    if not enabled:
        return {ENV_CACHE_BACKEND: "none"}
    if redis_url:
        return {ENV_CACHE_BACKEND: "redis", ENV_CACHE_URL: redis_url}
    return {ENV_CACHE_BACKEND: "memory"}


def curl_example(url: str, model_dir: Path) -> str:
    """A working ``curl`` command predicting one row: of the model's bundled example when it
    has one, else of zeros (false, "") shaped as its manifest declares."""
    example_file = model_dir / "example_request.json"
    if example_file.is_file():
        example = json.loads(example_file.read_text())
        inputs = example["inputs"]
        if isinstance(inputs, dict):
            first = {name: rows[:1] for name, rows in inputs.items()}
        else:
            first = inputs[:1]
        document = {"model": example.get("model", model_dir.name), "inputs": first}
    else:
        document = {"model": model_dir.name, "inputs": _zero_inputs(model_dir)}
    body = json.dumps(document, separators=(",", ":"))
    return (
        f"curl -s -X POST {url}/predict -H 'content-type: application/json' -d {shlex.quote(body)}"
    )


_ZERO = {"bool": False, "string": ""}


def _zero_inputs(model_dir: Path) -> dict[str, Any]:
    """One row of each input the manifest declares (free dimensions given length 1)."""
    manifest = json.loads((model_dir / constants.MANIFEST_FILENAME).read_text())
    inputs: dict[str, Any] = {}
    for spec in manifest["inputs"]:
        value: Any = _ZERO.get(spec["dtype"], 0)
        for dim in reversed(spec["shape"][1:]):
            value = [value] * (dim if isinstance(dim, int) else 1)
        inputs[spec["name"]] = [value]
    return inputs


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True
