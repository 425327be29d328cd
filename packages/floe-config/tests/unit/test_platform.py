"""platform.yaml selection (argument, FLOE_PLATFORM_FILE, FLOE_PLATFORM_ENV, defaults) and validation."""

from pathlib import Path

import pytest

from floe_config import ConfigError, PlatformSpec, load_platform_spec
from floe_config.errors import ConfigFileError, PlatformSettingsError
from floe_config.platform_loading import load_platform_document, parse_platform_spec
from floe_config.platform_selection import resolve_platform_file
from floe_config.platform_spec import FileTracing, HttpLineage, MultiprocessExecutor, OtlpTracing

PROD = """\
environment: prod
tracing: {type: otlp, endpoint: "${OTLP_ENDPOINT:http://collector:4318}", headers: {x-api-key: "${OTLP_KEY}"}}
lineage: {namespace: shop, transport: {type: http, url: "http://marquez:5000", api_key_env: MARQUEZ_KEY}}
execution: {executor: {type: multiprocess, max_concurrent: 4}}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "floe.yaml").write_text("name: shop\n")
    (tmp_path / "platform").mkdir()
    (tmp_path / "platform" / "prod.yaml").write_text(PROD)
    (tmp_path / "platform" / "dev.yaml").write_text("tracing: {type: file, path: .floe/dev-traces}\n")
    return tmp_path


def test_defaults_when_nothing_is_chosen(project: Path):
    document = load_platform_document(floe_yaml=project / "floe.yaml", environ={})
    assert document.chosen_by == "defaults"
    assert document.path is None
    assert document.spec == PlatformSpec()
    assert document.spec.execution.executor == MultiprocessExecutor(type="multiprocess")


def test_explicit_file_wins_over_environment(project: Path):
    environ = {"FLOE_PLATFORM_ENV": "dev", "OTLP_KEY": "k"}
    document = load_platform_document(
        project / "platform" / "prod.yaml", floe_yaml=project / "floe.yaml", environ=environ
    )
    assert document.chosen_by == "argument"
    assert isinstance(document.spec.tracing, OtlpTracing)
    assert document.spec.tracing.headers == {"x-api-key": "k"}


def test_platform_file_variable_wins_over_platform_env(project: Path):
    environ = {"FLOE_PLATFORM_FILE": str(project / "platform" / "dev.yaml"), "FLOE_PLATFORM_ENV": "prod"}
    document = load_platform_document(floe_yaml=project / "floe.yaml", environ=environ)
    assert document.chosen_by == "FLOE_PLATFORM_FILE"
    assert document.spec.tracing == FileTracing(type="file", path=".floe/dev-traces")


def test_platform_env_looks_beside_floe_yaml(project: Path):
    spec = load_platform_spec(floe_yaml=project / "floe.yaml", environ={"FLOE_PLATFORM_ENV": "prod", "OTLP_KEY": "k"})
    assert spec.environment == "prod"
    assert isinstance(spec.lineage.transport, HttpLineage)
    assert spec.lineage.transport.api_key_env == "MARQUEZ_KEY"


def test_platform_env_names_the_environment_when_the_file_does_not(project: Path):
    spec = load_platform_spec(floe_yaml=project / "floe.yaml", environ={"FLOE_PLATFORM_ENV": "dev"})
    assert spec.environment == "dev"


def test_platform_env_with_no_file_says_how_it_was_chosen(project: Path):
    with pytest.raises(ConfigFileError) as caught:
        load_platform_spec(floe_yaml=project / "floe.yaml", environ={"FLOE_PLATFORM_ENV": "staging"})
    (issue,) = caught.value.issues
    assert issue.file.endswith("platform/staging.yaml")
    assert issue.message == "file not found (chosen by FLOE_PLATFORM_ENV)"


def test_platform_env_must_be_a_plain_name(project: Path):
    with pytest.raises(PlatformSettingsError) as caught:
        resolve_platform_file(floe_yaml=project / "floe.yaml", environ={"FLOE_PLATFORM_ENV": "../../etc/passwd"})
    assert caught.value.issues[0].format().startswith("FLOE_PLATFORM_ENV: FLOE_PLATFORM_ENV='../../etc/passwd' is not")


def test_platform_errors_are_located(project: Path):
    text = "tracing: {type: otlp, protocol: grpcc}\nexecution: {executor: {type: multiprocess, max_concurrent: 0}}\n"
    with pytest.raises(ConfigError) as caught:
        parse_platform_spec(text, file="platform/prod.yaml", environ={})
    assert [issue.format() for issue in caught.value.issues] == [
        "platform/prod.yaml:1:33: tracing.protocol: 'grpcc' is not allowed (did you mean 'grpc'?); "
        "use one of: http/protobuf, grpc",
        "platform/prod.yaml:2:60: execution.executor.max_concurrent: must be greater than 0, got 0",
    ]


def test_platform_unknown_executor(project: Path):
    with pytest.raises(ConfigError) as caught:
        parse_platform_spec("execution: {executor: {type: kubernetes}}\n", environ={})
    assert [issue.format() for issue in caught.value.issues] == [
        "platform.yaml:1:30: execution.executor.type: unknown type 'kubernetes'; "
        "use one of: in_process, multiprocess, celery, k8s"
    ]


def test_platform_secret_from_environment_is_never_shown():
    text = "instance: {storage: postgress, postgres_url: '${PG_URL}'}\n"
    with pytest.raises(ConfigError) as caught:
        parse_platform_spec(text, environ={"PG_URL": "postgresql://user:pw@db/x"})
    (issue,) = caught.value.issues
    assert "pw@db" not in issue.format()
    assert issue.path == "instance.storage"


def test_empty_platform_file_is_the_defaults():
    assert parse_platform_spec("# nothing\n", environ={}) == PlatformSpec()


def test_platform_top_level_list_names_the_platform_keys():
    with pytest.raises(ConfigError) as caught:
        parse_platform_spec("- environment: prod\n", file="platform/prod.yaml", environ={})
    assert [issue.format() for issue in caught.value.issues] == [
        "platform/prod.yaml:1:1: a platform file must be a mapping with the keys environment, tracing, lineage, dbt, "
        "execution, instance; found a list: write each top-level entry as 'key: value', not as a list item, "
        "e.g. 'environment: ...'"
    ]


def test_platform_preload_modules_without_forkserver_is_located():
    with pytest.raises(ConfigError) as caught:
        parse_platform_spec("execution: {executor: {type: multiprocess, preload_modules: [dagster_dbt]}}\n", environ={})
    [issue] = caught.value.issues
    assert issue.line == 1
    assert "preload_modules only applies with start_method: forkserver" in issue.format()


def test_platform_celery_on_worker_lost_defaults_to_fail_and_takes_redeliver():
    default = parse_platform_spec("execution: {executor: {type: celery}}\n", environ={}).execution.executor
    assert default.type == "celery"
    assert default.on_worker_lost == "fail"
    text = "execution: {executor: {type: celery, on_worker_lost: redeliver, visibility_timeout_seconds: 600}}\n"
    redeliver = parse_platform_spec(text, environ={}).execution.executor
    assert redeliver.type == "celery"
    assert (redeliver.on_worker_lost, redeliver.visibility_timeout_seconds) == ("redeliver", 600)


def test_platform_celery_visibility_timeout_without_redeliver_is_located():
    with pytest.raises(ConfigError) as caught:
        parse_platform_spec("execution: {executor: {type: celery, visibility_timeout_seconds: 60}}\n", environ={})
    [issue] = caught.value.issues
    assert issue.line == 1
    assert "visibility_timeout_seconds only applies with on_worker_lost: redeliver" in issue.format()


def test_platform_celery_worker_lost_timeout_defaults_to_60_and_takes_a_value():
    default = parse_platform_spec("execution: {executor: {type: celery}}\n", environ={}).execution.executor
    assert default.type == "celery"
    assert default.worker_lost_timeout_seconds == 60
    text = "execution: {executor: {type: celery, worker_lost_timeout_seconds: 15}}\n"
    chosen = parse_platform_spec(text, environ={}).execution.executor
    assert chosen.type == "celery"
    assert chosen.worker_lost_timeout_seconds == 15


def test_platform_celery_worker_lost_timeout_with_redeliver_is_located():
    text = "execution: {executor: {type: celery, on_worker_lost: redeliver, worker_lost_timeout_seconds: 15}}\n"
    with pytest.raises(ConfigError) as caught:
        parse_platform_spec(text, environ={})
    [issue] = caught.value.issues
    assert issue.line == 1
    assert "worker_lost_timeout_seconds only applies with on_worker_lost: fail" in issue.format()


def test_platform_run_launcher_bad_value_is_a_located_error(project: Path):
    with pytest.raises(ConfigError) as caught:
        parse_platform_spec("instance:\n  run_launcher: wram\n", environ={})
    assert [issue.format() for issue in caught.value.issues] == [
        "platform.yaml:2:17: instance.run_launcher: 'wram' is not allowed (did you mean 'warm'?); "
        "use one of: warm, default"
    ]
