"""References between entries of floe.yaml, reported with "did you mean" and the entry's location."""


def spec(body: str) -> str:
    return "name: shop\norchestration:\n" + body


JOBS = (
    "  jobs:\n"
    "    transform: {type: batch, selection: [a], partitions: daily}\n"
    "    alert: {type: ops, target_function: '.ops:notify'}\n"
    "  partitions:\n"
    "    daily: {type: daily, start: '2024-01-01', end: '2025-01-01'}\n"
    "    region: {type: static, partition_keys: [us, eu, ap]}\n"
)


def test_schedule_job_typo_suggests_the_job(lines_of):
    text = spec(JOBS + "  schedules:\n    nightly: {job: transfrom, cron_schedule: '0 6 * * *'}\n")
    assert lines_of(text) == [
        "floe.yaml:10:20: orchestration.schedules.nightly.job: unknown job 'transfrom' (did you mean 'transform'?)"
    ]


def test_unknown_job_without_close_match_lists_jobs(lines_of):
    text = spec(JOBS + "  sensors:\n    s: {type: file_watcher, job: zzz, path: in}\n")
    assert lines_of(text) == [
        "floe.yaml:10:34: orchestration.sensors.s.job: unknown job 'zzz'; defined jobs: alert, transform"
    ]


def test_unknown_job_when_no_jobs_are_defined(lines_of):
    assert lines_of(spec("  schedules:\n    s: {job: j, cron_schedule: '@daily'}\n")) == [
        "floe.yaml:4:14: orchestration.schedules.s.job: unknown job 'j': orchestration.jobs defines none"
    ]


def test_run_status_watched_jobs_must_exist(lines_of):
    text = spec(
        JOBS
        + "  sensors:\n    s: {type: run_status, job: alert, watched_jobs: [transform, tranform], status: FAILURE}\n"
    )
    assert lines_of(text) == [
        "floe.yaml:10:65: orchestration.sensors.s.watched_jobs[1]: unknown job 'tranform' (did you mean 'transform'?)"
    ]


def test_backfill_job_must_exist(lines_of):
    text = spec(JOBS + "  backfills:\n    b: {job: nope, partition_range: {start: '2024-01-01', end: '2024-01-31'}}\n")
    assert lines_of(text) == [
        "floe.yaml:10:14: orchestration.backfills.b.job: unknown job 'nope'; defined jobs: alert, transform"
    ]


def test_asset_pattern_partitions_must_exist(lines_of):
    text = spec(JOBS + "  assets:\n    'bronze/*': {partitions: dayly}\n")
    assert lines_of(text) == [
        "floe.yaml:10:30: orchestration.assets.bronze/*.partitions: unknown partitions 'dayly' (did you mean 'daily'?)"
    ]


def test_job_partitions_must_exist(lines_of):
    text = spec("  jobs:\n    j: {type: batch, selection: [a], partitions: hourly}\n")
    assert lines_of(text) == [
        "floe.yaml:4:50: orchestration.jobs.j.partitions: unknown partitions 'hourly': "
        "orchestration.partitions defines none"
    ]


def test_backfill_of_an_ops_job(lines_of):
    text = spec(JOBS + "  backfills:\n    b: {job: alert, partition_range: {start: '2024-01-01', end: '2024-01-31'}}\n")
    assert lines_of(text) == [
        "floe.yaml:10:14: orchestration.backfills.b.job: backfills need a batch job; "
        "'alert' is an ops job with no partitions"
    ]


def test_backfill_range_start_after_end(lines_of):
    text = spec(
        JOBS + "  backfills:\n    b: {job: transform, partition_range: {start: '2024-03-01', end: '2024-01-31'}}\n"
    )
    assert lines_of(text) == [
        "floe.yaml:10:50: orchestration.backfills.b.partition_range.start: range start '2024-03-01' is after its end "
        "'2024-01-31'"
    ]


def test_backfill_range_before_partitions_start(lines_of):
    text = spec(
        JOBS + "  backfills:\n    b: {job: transform, partition_range: {start: '2023-12-01', end: '2024-01-31'}}\n"
    )
    assert lines_of(text) == [
        "floe.yaml:10:50: orchestration.backfills.b.partition_range.start: range start '2023-12-01' is before "
        "partitions 'daily' start at 2024-01-01"
    ]


def test_backfill_range_past_partitions_end(lines_of):
    text = spec(
        JOBS + "  backfills:\n    b: {job: transform, partition_range: {start: '2024-12-01', end: '2025-01-01'}}\n"
    )
    assert lines_of(text) == [
        "floe.yaml:10:69: orchestration.backfills.b.partition_range.end: range end '2025-01-01' is not before "
        "partitions 'daily' end at 2025-01-01"
    ]


def test_backfill_range_over_static_keys(lines_of):
    jobs = JOBS.replace("partitions: daily}", "partitions: region}")
    text = spec(jobs + "  backfills:\n    b: {job: transform, partition_range: {start: ap, end: uk}}\n")
    assert lines_of(text) == [
        "floe.yaml:10:59: orchestration.backfills.b.partition_range.end: 'uk' is not a key of partitions 'region'"
    ]


def test_backfill_range_in_static_key_order(lines_of):
    jobs = JOBS.replace("partitions: daily}", "partitions: region}")
    text = spec(jobs + "  backfills:\n    b: {job: transform, partition_range: {start: ap, end: us}}\n")
    assert lines_of(text) == [
        "floe.yaml:10:50: orchestration.backfills.b.partition_range.start: range start 'ap' comes after its end 'us'"
    ]


def test_target_function_outside_the_project(lines_of):
    text = spec("  jobs:\n    j: {type: ops, target_function: 'os:system'}\n")
    assert lines_of(text) == [
        "floe.yaml:4:37: orchestration.jobs.j.target_function: target function 'os:system' is outside the project; "
        "use a module relative to floe.yaml (e.g. '.ops:system') or list 'os' in "
        "orchestration.allowed_function_packages"
    ]


def test_target_function_in_an_allowed_package(parse):
    text = spec(
        "  allowed_function_packages: [shop_ops]\n  jobs:\n    j: {type: ops, target_function: 'shop_ops.tasks:run'}\n"
    )
    parse(text)


def test_target_function_in_an_asset_modules_package(parse):
    text = spec("  asset_modules: [shop.assets]\n  jobs:\n    j: {type: ops, target_function: 'shop.ops:run'}\n")
    parse(text)


def test_custom_sensor_target_function_outside_the_project(lines_of):
    text = spec(JOBS + "  sensors:\n    s: {type: custom, job: alert, target_function: 'subprocess:run'}\n")
    assert lines_of(text)[0].startswith(
        "floe.yaml:10:52: orchestration.sensors.s.target_function: target function 'subprocess:run' is outside"
    )


def test_run_status_sensor_cycle(lines_of):
    text = spec(
        JOBS
        + "  sensors:\n"
        + "    a: {type: run_status, job: alert, watched_jobs: [transform], status: SUCCESS}\n"
        + "    b: {type: run_status, job: transform, watched_jobs: [alert], status: SUCCESS}\n"
    )
    assert lines_of(text) == [
        "floe.yaml:10:5: orchestration.sensors.a: run-status sensors form a cycle (alert -> transform -> alert): "
        "each run would trigger the next forever; break the cycle"
    ]


def test_sensor_watching_its_own_job_is_a_cycle(lines_of):
    text = spec(
        JOBS + "  sensors:\n    retry: {type: run_status, job: alert, watched_jobs: [alert], status: FAILURE}\n"
    )
    assert lines_of(text) == [
        "floe.yaml:10:5: orchestration.sensors.retry: run-status sensors form a cycle (alert -> alert): "
        "each run would trigger the next forever; break the cycle"
    ]


def test_sensor_and_schedule_names_must_differ(lines_of):
    text = spec(
        JOBS
        + "  schedules:\n    daily_run: {job: transform, cron_schedule: '@daily'}\n"
        + "  sensors:\n    daily_run: {type: file_watcher, job: transform, path: in}\n"
    )
    assert lines_of(text) == [
        "floe.yaml:12:5: orchestration.sensors.daily_run: sensor 'daily_run' has the same name as a schedule; "
        "Dagster needs distinct names, rename one"
    ]


def test_reference_from_environment_is_shown_as_written(lines_of):
    text = spec(JOBS + "  schedules:\n    s: {job: '${JOB}', cron_schedule: '@daily'}\n")
    (line,) = lines_of(text, {"JOB": "private_name"})
    assert "private_name" not in line
    assert (
        line == "floe.yaml:10:14: orchestration.schedules.s.job: unknown job '${JOB}'; defined jobs: alert, transform; "
        "it came from environment variable JOB: change its value"
    )


def test_model_errors_and_reference_errors_come_together(lines_of):
    text = spec(JOBS + "  schedules:\n    s: {job: nope, cron_schedule: '@daily', timezone: Mars/Base}\n")
    lines = lines_of(text)
    assert len(lines) == 2
    assert lines[0].startswith("floe.yaml:10:14: orchestration.schedules.s.job: unknown job 'nope'")
    assert lines[1].startswith("floe.yaml:10:55: orchestration.schedules.s.timezone: unknown timezone 'Mars/Base'")
