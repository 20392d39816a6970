"""Import-check a built layer in an isolated interpreter of the target Python version.

The check runs ``python -I -S -B`` with only the layer (and a stand-in for the runtime's
botocore) on ``sys.path``, like Lambda with /opt/python, imports onnxruntime, numpy, orjson,
FastAPI, Mangum and Powertools (timed: ``import_seconds``; bytecode shipped in the layer is
used, none is written), runs a one-node ONNX model and the default model if present, serves
a FastAPI request through Mangum, and fails if anything came from outside the layer or the
stdlib. Only a layer for the host's architecture can be checked.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from layers.config import default_model_path

__all__ = ["REQUIRED_IMPORTS", "TINY_RELU_ONNX_HEX", "import_check"]

# What import_check imports: the layer must provide all of these after stripping.
REQUIRED_IMPORTS = (
    "numpy",
    "onnxruntime",
    "orjson",
    "fastapi",
    "mangum",
    "aws_lambda_powertools",
    "redis",
)

# A one-node ONNX model (Relu, float32 [N, 2] -> [N, 2], opset 13, IR 7), serialized with the
# onnx helper API: lets the check create an InferenceSession with no model file and no onnx.
TINY_RELU_ONNX_HEX = (
    "0807120873657276656b69743a400a0c0a0158120159220452656c75120472656c755a140a0158120f0a0d"
    "080112090a0312014e0a02080262140a0159120f0a0d080112090a0312014e0a02080242040a00100d"
)

_CHECK_SCRIPT = r"""
import json, os, sys, sysconfig, time, traceback
args = json.loads(sys.argv[1])
sys.path[:0] = [args["layer"]]
sys.path.extend(args["runtime_provided"])
out = {"python": sys.version.split()[0]}
try:
    started = time.perf_counter()
    import numpy as np
    import onnxruntime as ort
    import orjson, pydantic, starlette, fastapi, mangum
    import aws_lambda_powertools
    from aws_lambda_powertools import Logger, Metrics
    out["import_seconds"] = round(time.perf_counter() - started, 3)
    out["versions"] = {
        m.__name__: getattr(m, "__version__", None)
        for m in (np, ort, orjson, pydantic, starlette, fastapi)
    }
    Logger(service="servekit-check")
    Metrics(namespace="ServekitCheck", service="servekit-check")
    out["providers"] = ort.get_available_providers()
    import redis  # the cache client: imported lazily by the runtime, so checked here
    out["versions"]["redis"] = redis.__version__

    cpu = ["CPUExecutionProvider"]
    tiny = ort.InferenceSession(bytes.fromhex(args["tiny_model"]), providers=cpu)
    y = tiny.run(None, {"X": np.array([[-1.0, 2.0]], dtype=np.float32)})[0]
    assert y.tolist() == [[0.0, 2.0]], y
    out["tiny_model"] = "ok"

    model = args["model"]
    if model and os.path.isfile(model):
        dtypes = {"tensor(float)": np.float32, "tensor(double)": np.float64,
                  "tensor(int64)": np.int64, "tensor(int32)": np.int32}
        sess = ort.InferenceSession(model, providers=cpu)
        feed = {i.name: np.zeros([d if isinstance(d, int) else 1 for d in i.shape],
                                 dtype=dtypes.get(i.type, np.float32))
                for i in sess.get_inputs()}
        results = sess.run(None, feed)
        out["model"] = {
            "path": model,
            "inputs": {i.name: [str(d) for d in i.shape] for i in sess.get_inputs()},
            "outputs": [o.name for o in sess.get_outputs()],
            "ran": len(results) > 0,
        }
    else:
        out["model"] = f"skipped: no model file at {model}"

    app = fastapi.FastAPI()

    class Item(pydantic.BaseModel):
        rows: list[list[float]]

    @app.post("/echo")
    def echo(item: Item) -> dict:
        return {"n": len(item.rows)}

    event = {
        "version": "2.0", "routeKey": "$default", "rawPath": "/echo", "rawQueryString": "",
        "headers": {"host": "check.local", "content-type": "application/json"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "check", "domainName": "check.local",
            "domainPrefix": "check", "requestId": "r", "routeKey": "$default",
            "stage": "$default", "time": "01/Jan/2026:00:00:00 +0000", "timeEpoch": 0,
            "http": {"method": "POST", "path": "/echo", "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "check"},
        },
        "body": orjson.dumps({"rows": [[1, 2], [3, 4]]}).decode(), "isBase64Encoded": False,
    }
    response = mangum.Mangum(app, lifespan="off")(event, object())
    assert response["statusCode"] == 200, response
    assert orjson.loads(response["body"]) == {"n": 2}, response
    out["fastapi_mangum"] = "ok"

    try:
        from aws_xray_sdk.core import xray_recorder  # noqa: F401
        out["xray_sdk"] = "ok"
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("botocore"):
            raise
        out["xray_sdk"] = "skipped: no botocore on this host (the Lambda runtime provides it)"

    roots = [args["layer"], *args["runtime_provided"],
             sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]]
    resolvers = (os.path.abspath, os.path.realpath)
    allowed = tuple({os.path.join(f(r), "") for r in roots for f in resolvers})
    foreign = sorted({
        name.split(".")[0] for name, mod in list(sys.modules.items())
        if getattr(mod, "__file__", None)
        and not os.path.abspath(mod.__file__).startswith(allowed)
    })
    out["foreign_modules"] = foreign
    assert not foreign, f"imported from outside the layer: {foreign}"
    out["status"] = "ok"
except BaseException as exc:
    out["status"] = "error"
    out["error"] = f"{type(exc).__name__}: {exc}"
    out["traceback"] = traceback.format_exc()[-3000:]
print(json.dumps(out))
"""

# Pure-Python packages that the Lambda runtime provides next to boto3 (for aws-xray-sdk).
_RUNTIME_PROVIDED = ("botocore", "dateutil", "urllib3", "six")


@contextlib.contextmanager
def _runtime_provided_dir() -> Iterator[list[str]]:
    """A temp dir of symlinks to this interpreter's botocore & co, standing in for /var/runtime."""
    with tempfile.TemporaryDirectory(prefix="servekit-runtime-") as tmp:
        found = False
        for name in _RUNTIME_PROVIDED:
            spec = importlib.util.find_spec(name)
            if spec is None or spec.origin is None:
                continue
            origin = Path(spec.origin)
            source = origin.parent if origin.name == "__init__.py" else origin
            (Path(tmp) / source.name).symlink_to(source)
            found = found or name == "botocore"
        yield [tmp] if found else []


def import_check(
    layer_dir: Path,
    python: str,
    model: Path | None = None,
    timeout: float = 300,
) -> dict[str, Any]:
    """Import the layer in an isolated ``python`` and run a model and a FastAPI request.

    ``layer_dir`` is ``<build_root>/<key>`` (or its ``python/`` dir). The interpreter runs
    with ``-I -S -B``: no host site-packages, no environment, no .pth processing, no
    bytecode written (like Lambda, where /opt/python is on sys.path and read-only).
    Returns the check's JSON: ``status`` "ok" or "error" (with ``error``/``traceback``).
    """
    site = layer_dir if layer_dir.name == "python" else layer_dir / "python"
    if not site.is_dir():
        raise FileNotFoundError(f"no layer tree at {site}")
    model = default_model_path() if model is None else model
    with _runtime_provided_dir() as runtime_provided:
        args = {
            "layer": str(site.resolve()),
            "runtime_provided": runtime_provided,
            "tiny_model": TINY_RELU_ONNX_HEX,
            "model": str(model.resolve()),
        }
        try:
            proc = subprocess.run(
                [python, "-I", "-S", "-B", "-c", _CHECK_SCRIPT, json.dumps(args)],
                capture_output=True, text=True, timeout=timeout, check=False,
                cwd=tempfile.gettempdir(),
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return {"status": "error", "error": f"timed out after {timeout}s"}
    lines = proc.stdout.strip().splitlines()
    try:
        result: dict[str, Any] = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        return {
            "status": "error",
            "error": f"check exited {proc.returncode} without a result",
            "stderr": proc.stderr[-3000:],
        }
    if proc.stderr.strip():
        result["stderr"] = proc.stderr[-3000:]
    return result
