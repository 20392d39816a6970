"""Settings from SERVEKIT_* variables, and thread sizing from Lambda memory (no I/O)."""

from __future__ import annotations

from pathlib import Path

import pytest

from servekit.settings import Settings, SettingsError, default_threads


def test_defaults_from_a_minimal_environment() -> None:
    settings = Settings.from_env({"SERVEKIT_MODEL_DIR": "/m", "SERVEKIT_INTRA_OP_THREADS": "2"})
    assert settings.model_dir == Path("/m")
    assert settings.models == ()
    assert settings.max_rows == 1024
    assert settings.intra_op_threads == 2
    assert settings.fast_path is True
    assert settings.xray_subsegments is False


def test_documented_defaults_are_the_values_served() -> None:
    """The README's table, as literals: from the environment and as the dataclass's own
    defaults (two copies in the code: both must keep the documented value)."""
    for settings in (
        Settings.from_env({"SERVEKIT_MODEL_DIR": "/m"}),
        Settings(model_dir=Path("/m")),
    ):
        assert settings.models == ()
        assert settings.default_model is None
        assert settings.max_rows == 1024
        assert settings.max_body_bytes == 1_048_576
        assert settings.fast_path is True
        assert settings.xray_subsegments is False
    assert Settings(model_dir=Path("/m")).intra_op_threads == 1
    memory = {"SERVEKIT_MODEL_DIR": "/m", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "3538"}
    assert Settings.from_env(memory).intra_op_threads == 2  # one per 1,769 MB


def test_other_capabilities_settings_defaults_are_the_documented_values() -> None:
    from servekit.batch.settings import BatchSettings
    from servekit.gpu_proxy import GpuProxySettings
    from servekit.sessions.settings import SessionSettings

    for sessions in (
        SessionSettings.from_env({"SERVEKIT_SESSIONS_TABLE": "t"}),
        SessionSettings(table="t"),
    ):
        assert sessions.model == "session-recs-v2"
        assert sessions.ttl_s == 604_800  # 7 days
        assert sessions.max_events == 100
        assert sessions.max_attempts == 10
    for batch in (
        BatchSettings.from_env({"SERVEKIT_BATCH_TABLE": "t", "SERVEKIT_BATCH_BUCKET": "b"}),
        BatchSettings(table="t", bucket="b"),
    ):
        assert batch.chunk_rows == 8192
        assert batch.inference_rows == 1024
        assert batch.max_receive == 3
        assert batch.validate_rows == 1000
        assert batch.ttl_days == 7
        assert batch.schedule_prefix == "scheduled/"
        assert batch.schedule_model is None
    for gpu in (
        GpuProxySettings.from_env({"SERVEKIT_GPU_ENDPOINT_NAME": "ep"}),
        GpuProxySettings(endpoint_name="ep"),
    ):
        assert (gpu.connect_timeout_s, gpu.read_timeout_s) == (1.0, 10.0)
        assert gpu.max_attempts == 3
        assert (gpu.backoff_base_s, gpu.backoff_max_s) == (0.05, 1.0)
        assert gpu.hedge_delay_s is None
        assert gpu.budget_s == 25.0
        assert gpu.max_body_bytes == 6_291_456
        assert gpu.target_variant is None


def test_lists_and_flags_are_parsed() -> None:
    settings = Settings.from_env(
        {
            "SERVEKIT_MODEL_DIR": "/m",
            "SERVEKIT_MODELS": " a, b ,,",
            "SERVEKIT_FAST_PATH": "off",
            "SERVEKIT_XRAY_SUBSEGMENTS": "TRUE",
            "SERVEKIT_MAX_ROWS": "16",
        }
    )
    assert settings.models == ("a", "b")
    assert settings.fast_path is False
    assert settings.xray_subsegments is True
    assert settings.max_rows == 16


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({}, "SERVEKIT_MODEL_DIR is not set"),
        (
            {"SERVEKIT_MODEL_DIR": "/m", "SERVEKIT_MAX_ROWS": "many"},
            "SERVEKIT_MAX_ROWS must be an integer",
        ),
        ({"SERVEKIT_MODEL_DIR": "/m", "SERVEKIT_MAX_ROWS": "0"}, "at least 1"),
        ({"SERVEKIT_MODEL_DIR": "/m", "SERVEKIT_FAST_PATH": "maybe"}, "true or false"),
    ],
)
def test_bad_values_fail_with_the_variable_named(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(SettingsError, match=fragment):
        Settings.from_env(env)


@pytest.mark.parametrize(
    ("memory_mb", "threads"), [("128", 1), ("2048", 1), ("3538", 2), ("10240", 6), ("99999", 6)]
)
def test_threads_follow_lambda_memory(memory_mb: str, threads: int) -> None:
    assert default_threads({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": memory_mb}) == threads


def test_the_cli_looks_for_the_stack_name_the_cdk_app_deploys() -> None:
    from infra.constants import inference_stack_name
    from servekit_cli.target import stack_name

    assert stack_name("prod") == inference_stack_name("prod") == "Servekit-prod-Inference"


def test_the_cli_reads_the_api_url_output_the_cdk_app_writes() -> None:
    from infra.constants import OUTPUT_API_URL
    from servekit_cli.target import API_URL_OUTPUT

    assert API_URL_OUTPUT == OUTPUT_API_URL


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], {"local": True, "stage": "dev", "region": None}),
        (["--aws"], {"local": False, "stage": "dev", "region": None}),
        (
            ["--stage", "prod", "--region", "eu-west-1"],
            {"local": False, "stage": "prod", "region": "eu-west-1"},
        ),
    ],
)
def test_every_cli_command_picks_its_stack_the_same_way(
    argv: list[str], expected: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    import argparse

    from servekit_cli import target

    seen: dict[str, object] = {}
    monkeypatch.setattr(target, "resolve_target", lambda **kwargs: seen.update(kwargs))
    parser = argparse.ArgumentParser()
    target.add_target_arguments(parser)
    target.target_from_args(parser.parse_args(argv))
    assert seen == expected
