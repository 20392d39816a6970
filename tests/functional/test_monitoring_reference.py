"""Reference profiles from ``servekit models add --reference`` and the scheduled drift job's
handler on moto (its import-time wiring, the profiles it finds, what it writes)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from models.training import load_split
from servekit.monitoring import shapes
from servekit.monitoring.profile import PROFILE_FILENAME
from servekit.monitoring.reference import read_profile
from servekit.runtime.manifest import Manifest
from servekit_cli.__main__ import main
from tests.helpers import LambdaContext


def _add(model_dir: Path, into: Path, reference: Path) -> int:
    return main(
        [
            "models", "add", str(model_dir / "digits-logreg" / "model.onnx"),
            "--name", "digits-ref", "--version", "2.0.0", "--into", str(into),
            "--labels", ",".join(str(i) for i in range(10)), "--reference", str(reference),
        ]
    )  # fmt: skip


def test_models_add_profiles_the_reference_rows(model_dir: Path, tmp_path: Path) -> None:
    rows = load_split().x_test[:200]
    reference = tmp_path / "reference.jsonl"
    lines = [json.dumps({"inputs": rows[i : i + 50].tolist()}) for i in range(0, 200, 50)]
    reference.write_text("\n".join(lines) + "\n")
    assert _add(model_dir, tmp_path / "models", reference) == 0
    folder = tmp_path / "models" / "digits-ref"
    profile = read_profile(folder, Manifest.read(folder / "manifest.json"))
    assert profile is not None and profile.rows == 200 and profile.version == "2.0.0"
    assert len(profile.features) == 64
    assert {c.name for c in profile.outputs} == {"label", "score"}


def test_a_reference_the_model_cannot_take_is_refused_and_nothing_is_written(
    model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reference = tmp_path / "reference.jsonl"
    reference.write_text(json.dumps([1.0, 2.0]) + "\n")  # a row of 2 values for 64 features
    assert _add(model_dir, tmp_path / "models", reference) == 2
    error = capsys.readouterr().err
    assert "--reference" in error and "64" in error
    assert not (tmp_path / "models" / "digits-ref").exists()


def test_a_profile_of_another_model_file_is_not_read(model_dir: Path, tmp_path: Path) -> None:
    manifest = Manifest.read(model_dir / "digits-logreg" / "manifest.json")
    other = Manifest.from_dict({**manifest.to_dict(), "sha256": "0" * 64})
    assert read_profile(model_dir / "digits-logreg", manifest) is not None
    assert read_profile(model_dir / "digits-logreg", other) is None
    assert (model_dir / "digits-logreg" / PROFILE_FILENAME).is_file()


def test_the_scheduled_handler_reports_every_profiled_model(
    serving_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        shapes.ENV_CAPTURE_BUCKET: "capture-handler",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="capture-handler")
        import servekit.handlers.drift_job as module

        handler = importlib.reload(module)
        summary = handler.handler({"source": "aws.events"}, LambdaContext())
        assert summary["models"] == {
            name: {"version": "1.0.0", "status": "insufficient_data", "rows": 0}
            for name in ("digits-logreg", "digits-mlp")
        }
        keys = {o["Key"] for o in s3.list_objects_v2(Bucket="capture-handler")["Contents"]}
        assert "reports/model=digits-mlp/latest.html" in keys


def test_the_handler_refuses_to_start_without_a_bucket(
    serving_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(shapes.ENV_CAPTURE_BUCKET, raising=False)
    import servekit.handlers.drift_job as module

    with pytest.raises(RuntimeError, match=shapes.ENV_CAPTURE_BUCKET):
        importlib.reload(module)
