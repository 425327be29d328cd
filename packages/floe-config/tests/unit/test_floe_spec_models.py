"""Every model rule of floe.yaml, with the located message a user sees."""

import datetime as dt

import pytest

from floe_config import FloeSpec
from floe_config.asset_patterns import NamedCondition, OnCronCondition
from floe_config.jobs import BatchJob, OpsJob
from floe_config.partitions import StaticPartitions


def spec(body: str) -> str:
    return "name: shop\norchestration:\n" + body


def test_sample_is_valid(parse, sample_text):
    document = parse(sample_text)
    orchestration = document.spec.orchestration
    assert set(orchestration.jobs) == {"seed_bronze", "transform", "maintenance", "alert"}
    assert isinstance(orchestration.jobs["maintenance"], OpsJob)
    assert orchestration.schedules["nightly"].cron_schedule == "0 6 * * *"
    assert orchestration.schedules["nightly"].enabled is True
    assert orchestration.assets["gold/*"].automation_condition == "eager"
    assert isinstance(orchestration.assets["gold/weekly_*"].automation_condition, OnCronCondition)
    assert orchestration.partitions["daily"].start == dt.date(2024, 1, 1)


def test_interpolated_values_are_coerced_by_field_type(parse, sample_text):
    document = parse(sample_text, {"SCHEDULES_ON": "false", "NIGHTLY_CRON": "30 5 * * *"})
    schedule = document.spec.orchestration.schedules["nightly"]
    assert schedule.enabled is False
    assert schedule.cron_schedule == "30 5 * * *"


def test_interpolated_integer_is_coerced(parse):
    text = spec(
        "  jobs:\n    j: {type: batch, selection: [a]}\n  sensors:\n"
        "    s: {type: file_watcher, job: j, path: x, poll_interval_seconds: '${POLL:45}'}\n"
    )
    assert parse(text).spec.orchestration.sensors["s"].poll_interval_seconds == 45


def test_unknown_top_level_key_suggests_the_right_one(lines_of):
    assert lines_of("name: shop\norchestraton: {}\n") == [
        "floe.yaml:2:1: orchestraton: unknown key 'orchestraton' (did you mean 'orchestration'?)"
    ]


def test_unknown_key_without_close_match_lists_allowed_keys(lines_of):
    assert lines_of("name: shop\nobservability: {colour: red}\n") == [
        "floe.yaml:2:17: observability.colour: unknown key 'colour'; allowed keys here: traces, lineage, attributes"
    ]


def test_misspelled_orchestration_key(lines_of):
    assert lines_of(spec("  shedules: {}\n")) == [
        "floe.yaml:3:3: orchestration.shedules: unknown key 'shedules' (did you mean 'schedules'?)"
    ]


def test_unknown_key_inside_tagged_union_member_uses_that_members_fields(lines_of):
    text = spec("  jobs:\n    j: {type: batch, selection: [a], selecton: [b]}\n")
    assert lines_of(text) == [
        "floe.yaml:4:38: orchestration.jobs.j.selecton: unknown key 'selecton' (did you mean 'selection'?)"
    ]


def test_missing_name(lines_of):
    assert lines_of("version: '1'\n") == ["floe.yaml:1:1: name: missing required key 'name'"]


def test_empty_file(lines_of):
    assert lines_of("# nothing yet\n") == [
        "floe.yaml:1:1: the file is empty; a floe.yaml needs at least 'name: <pipeline name>'"
    ]


def test_top_level_list_is_located_at_the_list_and_says_how_to_write_keys(lines_of):
    assert lines_of("# my pipeline\n- a\n- b\n") == [
        "floe.yaml:2:1: floe.yaml must be a mapping with the keys name, version, description, orchestration, "
        "observability; found a list: write each top-level entry as 'key: value', not as a list item, e.g. 'name: shop'"
    ]


def test_top_level_key_without_colon_says_to_add_one(lines_of):
    assert lines_of("name shop\n") == [
        "floe.yaml:1:1: floe.yaml must be a mapping with the keys name, version, description, orchestration, "
        "observability; found 'name shop': a key needs ': ' after it, e.g. 'name: shop'"
    ]


def test_top_level_number(lines_of):
    assert lines_of("42\n") == [
        "floe.yaml:1:1: floe.yaml must be a mapping with the keys name, version, description, orchestration, "
        "observability; found the number 42: write one 'key: value' per line, e.g. 'name: shop'"
    ]


def test_number_where_text_is_expected_suggests_quoting(lines_of):
    assert lines_of("name: shop\nversion: 1.0\n") == [
        "floe.yaml:2:10: version: expected text, got the number 1.0; quote it to keep it as text"
    ]


@pytest.mark.parametrize(
    ("name", "safe"), [("my-pipeline", "my_pipeline"), ("shop.eu-1", "shop_eu_1"), ("2024_shop", "2024_shop")]
)
def test_pipeline_name_accepts_dashes_dots_and_digits_and_derives_a_dagster_name(parse, name, safe):
    spec = parse(f"name: {name}\n").spec
    assert spec.name == name
    assert spec.dagster_name == safe


def test_invalid_pipeline_name_says_which_characters_and_suggests_one(lines_of):
    assert lines_of("name: my shop/eu\n") == [
        "floe.yaml:1:7: name: name 'my shop/eu' contains a space and '/'; a pipeline name uses only letters, digits, "
        "'-', '_' and '.', and does not start with '-' or '.': write e.g. 'my-shop-eu'"
    ]


def test_pipeline_name_starting_with_a_dot_is_refused(lines_of):
    assert lines_of("name: .shop\n") == [
        "floe.yaml:1:7: name: name '.shop' starts with '.'; a pipeline name uses only letters, digits, "
        "'-', '_' and '.', and does not start with '-' or '.': write e.g. 'shop'"
    ]


def test_pipeline_name_from_the_environment_is_not_shown(lines_of):
    lines = lines_of("name: ${PIPELINE}\n", {"PIPELINE": "secret name"})
    assert lines == [
        "floe.yaml:1:7: name: '${PIPELINE}' is not a valid pipeline name; a pipeline name uses only letters, "
        "digits, '-', '_' and '.', and does not start with '-' or '.'; it came from environment variable PIPELINE: "
        "change its value"
    ]
    assert "secret" not in lines[0]


def test_invalid_job_name_is_located_at_the_key(lines_of):
    assert lines_of(spec("  jobs:\n    2-nightly: {type: batch, selection: [a]}\n")) == [
        "floe.yaml:4:5: orchestration.jobs.2-nightly: name '2-nightly' contains '-', and starts with a digit; names "
        "use only letters, digits and underscores, and do not start with a digit: write e.g. 'nightly_2'"
    ]


def test_asset_module_must_be_dotted_identifiers(lines_of):
    assert lines_of(spec("  asset_modules: [.assets.bronze, assets/silver]\n")) == [
        "floe.yaml:3:35: orchestration.asset_modules[1]: module path 'assets/silver' is not a dotted Python module "
        "path (each part must be a Python identifier; bad part: 'assets/silver')"
    ]


def test_asset_module_with_two_leading_dots(lines_of):
    assert lines_of(spec("  asset_modules: [..up]\n")) == [
        "floe.yaml:3:19: orchestration.asset_modules[0]: module path '..up': use one leading dot for "
        "'relative to floe.yaml's directory'"
    ]


def test_dbt_manifest_defaults_under_project_dir(parse):
    document = parse(spec("  dbt: {project_dir: dbt/}\n"))
    assert document.spec.orchestration.dbt is not None
    assert document.spec.orchestration.dbt.resolved_manifest_path == "dbt/target/manifest.json"


def test_dbt_observability_level_choices(lines_of):
    assert lines_of(spec("  dbt: {project_dir: dbt, observability_level: per_modle}\n")) == [
        "floe.yaml:3:48: orchestration.dbt.observability_level: 'per_modle' is not allowed "
        "(did you mean 'per_model'?); use one of: per_model, job_level"
    ]


# --- partitions -------------------------------------------------------------------------------------------------


def test_partition_type_typo(lines_of):
    assert lines_of(spec("  partitions:\n    d: {type: time_windw, start: '2024-01-01'}\n")) == [
        "floe.yaml:4:15: orchestration.partitions.d.type: unknown type 'time_windw' (did you mean 'time_window'?); "
        "use one of: time_window, daily, hourly, weekly, monthly, static, multi, dynamic"
    ]


def test_partition_without_type(lines_of):
    assert lines_of(spec("  partitions:\n    d: {start: '2024-01-01'}\n")) == [
        "floe.yaml:4:5: orchestration.partitions.d: missing 'type'; "
        "use one of: time_window, daily, hourly, weekly, monthly, static, multi, dynamic"
    ]


def test_time_window_bad_cron(lines_of):
    assert lines_of(
        spec("  partitions:\n    d: {type: time_window, start: '2024-01-01', cron_schedule: '0 25 * * *'}\n")
    ) == [
        "floe.yaml:4:64: orchestration.partitions.d.cron_schedule: cron expression '0 25 * * *': "
        "hour 25 is outside 0-23"
    ]


def test_time_window_cron_with_wrong_field_count(lines_of):
    assert lines_of(
        spec("  partitions:\n    d: {type: time_window, start: '2024-01-01', cron_schedule: '0 0 * *'}\n")
    ) == [
        "floe.yaml:4:64: orchestration.partitions.d.cron_schedule: cron expression '0 0 * *' has 4 fields; use 5 "
        "fields (minute hour day-of-month month day-of-week, e.g. '0 6 * * *') or an alias such as '@daily'"
    ]


def test_cron_names_are_checked_by_croniter(parse, lines_of):
    parse(spec("  partitions:\n    d: {type: time_window, start: '2024-01-01', cron_schedule: '0 9 * * mon'}\n"))
    assert lines_of(
        spec("  partitions:\n    d: {type: time_window, start: '2024-01-01', cron_schedule: '0 9 * * funday'}\n")
    ) == [
        "floe.yaml:4:64: orchestration.partitions.d.cron_schedule: invalid cron expression '0 9 * * funday'; "
        "expected e.g. '0 6 * * *', '0 9 * * mon' or '@daily'"
    ]


def test_cron_alias_is_accepted(parse):
    parse(spec("  partitions:\n    d: {type: time_window, start: '2024-01-01', cron_schedule: '@daily'}\n"))


def test_time_window_start_after_end(lines_of):
    text = spec("  partitions:\n    d: {type: daily, start: '2024-06-01', end: '2024-01-01'}\n")
    assert lines_of(text) == ["floe.yaml:4:8: orchestration.partitions.d: start 2024-06-01 is after end 2024-01-01"]


def test_time_window_bad_date(lines_of):
    assert lines_of(spec("  partitions:\n    d: {type: daily, start: '2024-13-01'}\n")) == [
        "floe.yaml:4:29: orchestration.partitions.d.start: expected a date like 2024-01-01 or a datetime like "
        "2024-01-01T06:00:00, got '2024-13-01': month value is outside expected range of 1-12"
    ]


def test_time_window_start_and_end_are_read_with_fmt_as_dagster_does(parse):
    text = spec(
        "  partitions:\n    h: {type: time_window, start: '2023-06-01-00:00', end: '2023-06-02-06:00', "
        "fmt: '%Y-%m-%d-%H:%M', cron_schedule: '0 * * * *'}\n"
    )
    partitions = parse(text).spec.orchestration.partitions["h"]
    assert partitions.start == dt.datetime(2023, 6, 1, 0, 0)
    assert partitions.end == dt.datetime(2023, 6, 2, 6, 0)


def test_cadence_start_is_read_with_its_fmt(parse):
    text = spec("  partitions:\n    d: {type: daily, start: '20240105', fmt: '%Y%m%d'}\n")
    assert parse(text).spec.orchestration.partitions["d"].start == dt.datetime(2024, 1, 5)


def test_time_window_start_not_matching_fmt_is_located_and_quotes_the_fmt(lines_of):
    text = spec(
        "  partitions:\n"
        "    h: {type: time_window, start: 'June 1', fmt: '%Y-%m-%d-%H:%M', cron_schedule: '0 * * * *'}\n"
    )
    assert lines_of(text) == [
        "floe.yaml:4:35: orchestration.partitions.h.start: start 'June 1' does not match fmt '%Y-%m-%d-%H:%M'; "
        "write e.g. '2024-01-01-00:00'"
    ]


def test_unknown_timezone_suggests_a_close_one(lines_of):
    assert lines_of(spec("  partitions:\n    d: {type: daily, start: '2024-01-01', timezone: Europe/Pari}\n")) == [
        "floe.yaml:4:53: orchestration.partitions.d.timezone: unknown timezone 'Europe/Pari' "
        "(did you mean 'Europe/Paris'?)"
    ]


def test_static_partition_keys_unique(lines_of):
    assert lines_of(spec("  partitions:\n    r: {type: static, partition_keys: [us, eu, us]}\n")) == [
        "floe.yaml:4:8: orchestration.partitions.r: partition_keys must be unique; repeated: us"
    ]


def test_static_partition_keys_not_empty(lines_of):
    assert lines_of(spec("  partitions:\n    r: {type: static, partition_keys: []}\n")) == [
        "floe.yaml:4:39: orchestration.partitions.r.partition_keys: must not be empty; list at least one, "
        "e.g. partition_keys: [us, eu]"
    ]


def test_static_partition_keys_parse(parse):
    partitions = parse(
        spec("  partitions:\n    r: {type: static, partition_keys: [no, se]}\n")
    ).spec.orchestration.partitions
    assert partitions["r"] == StaticPartitions(type="static", partition_keys=["no", "se"])


def test_multi_partitions_need_exactly_two_dimensions(lines_of):
    text = spec(
        "  partitions:\n    m:\n      type: multi\n      partitions:\n"
        "        a: {type: static, partition_keys: [x]}\n"
        "        b: {type: static, partition_keys: [y]}\n"
        "        c: {type: static, partition_keys: [z]}\n"
    )
    assert lines_of(text) == [
        "floe.yaml:5:7: orchestration.partitions.m: multi partitions need exactly two dimensions "
        "(Dagster's limit); got 3 (a, b, c)"
    ]


def test_multi_partitions_cannot_nest(lines_of):
    text = spec(
        "  partitions:\n    m:\n      type: multi\n      partitions:\n"
        "        a: {type: multi, partitions: {}}\n        b: {type: static, partition_keys: [y]}\n"
    )
    assert lines_of(text) == [
        "floe.yaml:7:19: orchestration.partitions.m.partitions.a.type: unknown type 'multi'; "
        "use one of: time_window, daily, hourly, weekly, monthly, static, dynamic"
    ]


def test_dynamic_partitions_need_a_name(lines_of):
    assert lines_of(spec("  partitions:\n    c: {type: dynamic}\n")) == [
        "floe.yaml:4:5: orchestration.partitions.c.name: missing required key 'name'"
    ]


# --- asset patterns ---------------------------------------------------------------------------------------------


def test_automation_condition_shorthand_typo(lines_of):
    assert lines_of(spec("  assets:\n    'gold/*': {automation_condition: eagr}\n")) == [
        "floe.yaml:4:38: orchestration.assets.gold/*.automation_condition: 'eagr' is not allowed "
        "(did you mean 'eager'?); use one of: eager, on_missing"
    ]


def test_on_cron_condition_needs_its_cron(lines_of):
    assert lines_of(spec("  assets:\n    'gold/*': {automation_condition: {type: on_cron}}\n")) == [
        "floe.yaml:4:16: orchestration.assets.gold/*.automation_condition.cron_schedule: "
        "missing required key 'cron_schedule'"
    ]


def test_mapping_form_of_named_condition(parse):
    patterns = parse(
        spec("  assets:\n    'gold/*': {automation_condition: {type: on_missing}}\n")
    ).spec.orchestration.assets
    assert patterns["gold/*"].automation_condition == NamedCondition(type="on_missing")


def test_multi_run_backfill_policy_must_be_positive(lines_of):
    text = spec("  assets:\n    'a/*': {backfill_policy: {type: multi_run, max_partitions_per_run: 0}}\n")
    assert lines_of(text) == [
        "floe.yaml:4:72: orchestration.assets.a/*.backfill_policy.max_partitions_per_run: must be greater than 0, got 0"
    ]


# --- jobs -------------------------------------------------------------------------------------------------------


def test_job_type_typo(lines_of):
    assert lines_of(spec("  jobs:\n    j: {type: bach, selection: [a]}\n")) == [
        "floe.yaml:4:15: orchestration.jobs.j.type: unknown type 'bach' (did you mean 'batch'?); use one of: batch, ops"
    ]


def test_batch_job_needs_a_selection(lines_of):
    assert lines_of(spec("  jobs:\n    j: {type: batch, selection: []}\n")) == [
        "floe.yaml:4:33: orchestration.jobs.j.selection: must not be empty; list at least one, "
        'e.g. selection: ["group:bronze"]'
    ]


def test_selection_given_as_a_string_asks_for_a_list(lines_of):
    assert lines_of(spec("  jobs:\n    j: {type: batch, selection: 'group:a'}\n")) == [
        "floe.yaml:4:33: orchestration.jobs.j.selection: expected a list, got 'group:a'; "
        "write [a, b] or one '- item' per line"
    ]


@pytest.mark.parametrize(
    ("selection", "message"),
    [
        ("''", "empty selection string; use Dagster's selection syntax, e.g. 'group:bronze' or 'key:\"a/b\"'"),
        ("'group:'", "selection 'group:': 'group:' needs a value, e.g. 'group:bronze'"),
        ("'key:\"a/b'", "selection 'key:\"a/b' has an unbalanced double quote"),
        ("'(group:a or group:b'", "selection '(group:a or group:b' has 1 unclosed parenthesis"),
        ("'group:a)'", "selection 'group:a)' closes a parenthesis that was never opened"),
    ],
)
def test_obvious_selection_mistakes(lines_of, selection: str, message: str):
    assert lines_of(spec(f"  jobs:\n    j:\n      type: batch\n      selection:\n        - {selection}\n")) == [
        f"floe.yaml:7:11: orchestration.jobs.j.selection[0]: {message}"
    ]


def test_valid_selection_grammar_is_accepted(parse):
    text = spec(
        "  jobs:\n    j: {type: batch, selection: ['key:\"a/b\"+', '2+group:x and not kind:dbt', '(tag:k=v)']}\n"
    )
    job = parse(text).spec.orchestration.jobs["j"]
    assert isinstance(job, BatchJob)
    assert len(job.selection) == 3


def test_ops_target_function_syntax(lines_of):
    assert lines_of(spec("  jobs:\n    j: {type: ops, target_function: .assets.ops.vacuum}\n")) == [
        "floe.yaml:4:37: orchestration.jobs.j.target_function: target function '.assets.ops.vacuum' must be "
        "'package.module:function' (e.g. '.assets.ops:vacuum')"
    ]


def test_ops_target_function_bad_function_name(lines_of):
    assert lines_of(spec("  jobs:\n    j: {type: ops, target_function: '.ops:do-it'}\n")) == [
        "floe.yaml:4:37: orchestration.jobs.j.target_function: target function '.ops:do-it': 'do-it' is not a "
        "Python function name"
    ]


# --- schedules, sensors, backfills ------------------------------------------------------------------------------

JOB = "  jobs:\n    j: {type: batch, selection: [a]}\n"


def test_schedule_needs_job_and_cron(lines_of):
    assert lines_of(spec(JOB + "  schedules:\n    s: {timezone: UTC}\n")) == [
        "floe.yaml:6:5: orchestration.schedules.s.cron_schedule: missing required key 'cron_schedule'",
        "floe.yaml:6:5: orchestration.schedules.s.job: missing required key 'job'",
    ]


def test_schedule_enabled_must_be_a_boolean(lines_of):
    assert lines_of(spec(JOB + "  schedules:\n    s: {job: j, cron_schedule: '@daily', enabled: maybe}\n")) == [
        "floe.yaml:6:51: orchestration.schedules.s.enabled: expected true or false, got 'maybe'"
    ]


def test_schedule_partition_selector_choices(lines_of):
    text = spec(JOB + "  schedules:\n    s: {job: j, cron_schedule: '@daily', partition_selector: newest}\n")
    assert lines_of(text) == [
        "floe.yaml:6:62: orchestration.schedules.s.partition_selector: 'newest' is not allowed; use one of: latest, all"
    ]


def test_sensor_poll_interval_positive(lines_of):
    text = spec(JOB + "  sensors:\n    s: {type: file_watcher, job: j, path: in, poll_interval_seconds: 0}\n")
    assert lines_of(text) == [
        "floe.yaml:6:70: orchestration.sensors.s.poll_interval_seconds: must be greater than 0, got 0"
    ]


def test_run_status_sensor_status_choices(lines_of):
    jobs = JOB + "    k: {type: batch, selection: [b]}\n"
    text = spec(jobs + "  sensors:\n    s: {type: run_status, job: j, watched_jobs: [k], status: FAIL}\n")
    assert lines_of(text) == [
        "floe.yaml:7:62: orchestration.sensors.s.status: 'FAIL' is not allowed (did you mean 'FAILURE'?); "
        "use one of: SUCCESS, FAILURE, CANCELED"
    ]


def test_asset_sensor_trigger_choices(lines_of):
    text = spec(JOB + "  sensors:\n    s: {type: asset_sensor, job: j, watched_assets: [a/b], trigger: every}\n")
    assert lines_of(text) == [
        "floe.yaml:6:69: orchestration.sensors.s.trigger: 'every' is not allowed; use one of: any, all"
    ]


def test_custom_sensor_needs_target_function(lines_of):
    assert lines_of(spec(JOB + "  sensors:\n    s: {type: custom, job: j}\n")) == [
        "floe.yaml:6:5: orchestration.sensors.s.target_function: missing required key 'target_function'"
    ]


def test_backfill_batch_size_positive(lines_of):
    text = spec(JOB + "  backfills:\n    b: {job: j, partition_range: {start: a, end: b}, batch_size: -1}\n")
    assert lines_of(text) == ["floe.yaml:6:66: orchestration.backfills.b.batch_size: must be greater than 0, got -1"]


def test_value_from_environment_is_never_shown(lines_of):
    text = spec(JOB + "  schedules:\n    s: {job: j, cron_schedule: '${CRON}'}\n")
    (line,) = lines_of(text, {"CRON": "hunter2 secret"})
    assert "hunter2" not in line
    assert line == (
        "floe.yaml:6:32: orchestration.schedules.s.cron_schedule: cron expression '${CRON}' has 2 fields; use 5 "
        "fields (minute hour day-of-month month day-of-week, e.g. '0 6 * * *') or an alias such as '@daily'; it came "
        "from environment variable CRON: change its value"
    )


def test_boolean_from_environment_is_shown_as_written_and_names_the_variable(lines_of):
    text = spec(JOB + "  schedules:\n    s: {job: j, cron_schedule: '@daily', enabled: '${ON}'}\n")
    assert lines_of(text, {"ON": "s3cr3t"}) == [
        "floe.yaml:6:51: orchestration.schedules.s.enabled: expected true or false, got '${ON}'; it came from "
        "environment variable ON: change its value"
    ]


def test_wrong_default_is_shown_resolved_and_named_as_the_default(lines_of):
    sensor = "s: {type: file_watcher, job: j, path: x, poll_interval_seconds: '${POLL:many}'}"
    text = spec(JOB + f"  sensors:\n    {sensor}\n")
    assert lines_of(text) == [
        "floe.yaml:6:69: orchestration.sensors.s.poll_interval_seconds: expected a whole number, got 'many'; "
        "it came from the default of ${POLL} (POLL is not set): set POLL, or fix the default"
    ]


def test_value_made_of_several_defaults_names_each(lines_of):
    schedule = "s: {job: j, cron_schedule: '@daily', timezone: '${AREA:Europe}/${CITY:Pariss}'}"
    text = spec(JOB + f"  schedules:\n    {schedule}\n")
    assert lines_of(text) == [
        "floe.yaml:6:52: orchestration.schedules.s.timezone: unknown timezone 'Europe/Pariss' (did you mean "
        "'Europe/Paris'?); it came from the defaults of ${AREA}, ${CITY} (none is set): set them, or fix the defaults"
    ]


def test_set_variable_with_a_default_is_named_as_the_environment(lines_of):
    text = spec(JOB + "  schedules:\n    s: {job: j, cron_schedule: '@daily', enabled: '${ON:true}'}\n")
    assert lines_of(text, {"ON": "maybe"}) == [
        "floe.yaml:6:51: orchestration.schedules.s.enabled: expected true or false, got '${ON:true}'; it came from "
        "environment variable ON: change its value"
    ]


def test_all_problems_are_reported_in_one_pass(lines_of):
    text = spec(
        JOB
        + "  schedules:\n    s: {job: jj, cron_schedule: 'x'}\n"
        + "  sensors:\n    t: {type: run_status, job: j, watched_jobs: [k], status: SUCCESS}\n"
        + "  shedules: {}\n"
    )
    assert lines_of(text) == [
        "floe.yaml:6:14: orchestration.schedules.s.job: unknown job 'jj' (did you mean 'j'?)",
        "floe.yaml:6:33: orchestration.schedules.s.cron_schedule: cron expression 'x' has 1 field; use 5 fields "
        "(minute hour day-of-month month day-of-week, e.g. '0 6 * * *') or an alias such as '@daily'",
        "floe.yaml:8:50: orchestration.sensors.t.watched_jobs[0]: unknown job 'k'; defined jobs: j",
        "floe.yaml:9:3: orchestration.shedules: unknown key 'shedules' (did you mean 'schedules'?)",
    ]


def test_models_are_frozen(parse, sample_text):
    document = parse(sample_text)
    with pytest.raises(ValueError, match="frozen"):
        document.spec.name = "other"  # type: ignore[misc]


def test_floe_spec_defaults():
    empty = FloeSpec(name="x")
    assert empty.orchestration.jobs == {}
    assert empty.observability.traces is True


def test_error_at_the_end_of_a_very_long_single_line_is_located_by_column(lines_of):
    jobs = ", ".join(f"j{index}: {{type: batch, selection: [a]}}" for index in range(3000))
    line = "orchestration: {jobs: {" + jobs + ", bad: {type: batch, selection: []}}}"
    (reported,) = lines_of(f"name: shop\n{line}\n")
    assert reported == (
        f"floe.yaml:2:{line.index('[]}') + 1}: orchestration.jobs.bad.selection: must not be empty; list at least "
        'one, e.g. selection: ["group:bronze"]'
    )


def test_document_locates_a_list_item_by_its_dotted_index(parse):
    document = parse('name: s\norchestration:\n  jobs:\n    t: {type: batch, selection: ["a", "b"]}\n')
    assert document.locate("orchestration.jobs.t.selection.1") == (4, 39)
    assert document.locate("orchestration.jobs.t.selection") == (4, 22)
