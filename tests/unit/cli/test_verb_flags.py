"""The AWS CLI-shaped verbs without a broker: flags derived from botocore's models, values read as the AWS CLI reads them."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from botocore import xform_name
from click.testing import CliRunner

from eventpipes.api.plane import EVENTS_OPERATIONS, PIPES_OPERATIONS
from eventpipes.cli.main import cli
from eventpipes.cli.verb_model import Flag, first_sentence, flags, kebab, service_model, with_iso_timestamps
from eventpipes.cli.verb_output import tables
from eventpipes.cli.verb_params import MissingParameters, ParameterError, build_request, cli_input, member_value, spread_lists
from eventpipes.cli.verbs import COMMANDS, EVENTS_VERBS, PIPES_VERBS, OperationFailed


def by_flag(service: str, operation: str) -> dict[str, Flag]:
    return {flag.flag: flag for flag in flags(service, operation)}


def test_the_verbs_are_the_operations_the_endpoint_passes_to_the_control_plane() -> None:
    assert EVENTS_VERBS == EVENTS_OPERATIONS and PIPES_VERBS == PIPES_OPERATIONS
    names = {command.name for command in COMMANDS}
    assert {"put-rule", "list-targets-by-rule", "create-api-destination", "create-pipe", "stop-pipe", "tag-resource"} <= names
    assert len(names) == len(set(EVENTS_VERBS + PIPES_VERBS))


def test_every_verb_and_flag_is_spelled_as_botocore_spells_it() -> None:
    for service, operations in (("events", EVENTS_VERBS), ("pipes", PIPES_VERBS)):
        model = service_model(service)
        for operation in operations:
            assert kebab(operation) == xform_name(operation, "-")
            shape = model.operation_model(operation).input_shape
            for member in shape.members if shape is not None else ():
                assert kebab(member) == xform_name(member, "-"), (operation, member)


def test_verbs_do_not_shadow_existing_commands() -> None:
    verbs = {command.name for command in COMMANDS}
    assert verbs <= set(cli.commands)
    assert all(cli.commands[name] in COMMANDS for name in verbs)
    assert {"pipe", "archive", "replay", "put-events", "test-event-pattern"} <= set(cli.commands) - verbs


def test_put_targets_flags() -> None:
    found = by_flag("events", "PutTargets")
    assert list(found) == ["--rule", "--event-bus-name", "--targets"]
    assert found["--rule"] == Flag(flag="--rule", member="Rule", kind="string", required=True, shape="RuleName",
                                   help=found["--rule"].help)
    assert found["--targets"].kind == "json" and found["--targets"].json_type == "array" and found["--targets"].required
    assert not found["--event-bus-name"].required


def test_lists_of_strings_booleans_integers_and_enums() -> None:
    remove = by_flag("events", "RemoveTargets")
    assert (remove["--ids"].kind, remove["--ids"].item_kind, remove["--ids"].required) == ("scalars", "string", True)
    assert remove["--force"].kind == "boolean"
    assert by_flag("events", "ListRules")["--limit"].kind == "integer"
    assert set(by_flag("events", "PutRule")["--state"].choices) >= {"ENABLED", "DISABLED"}
    assert by_flag("events", "CreateConnection")["--auth-parameters"].json_type == "object"


def test_a_pipe_needs_no_role_here() -> None:
    create = by_flag("pipes", "CreatePipe")
    assert create["--source"].required and create["--target"].required and create["--name"].required
    assert not create["--role-arn"].required
    assert create["--source-parameters"].json_type == "object"


def test_both_services_tag_with_the_same_flags() -> None:
    for operation in ("TagResource", "UntagResource", "ListTagsForResource"):
        assert list(by_flag("events", operation)) == list(by_flag("pipes", operation))
    assert by_flag("events", "TagResource")["--tags"].json_type == "array"
    assert by_flag("pipes", "TagResource")["--tags"].json_type == "object"


def test_first_sentence_of_html_documentation() -> None:
    assert first_sentence("<p>Creates a rule. It may take <i>a</i> minute.</p>") == "Creates a rule."
    assert first_sentence("<p>The name &amp; ARN (e.g. <code>x</code>)</p>") == "The name & ARN (e.g. x)"


@pytest.mark.parametrize(("args", "spread"), [
    (["--ids", "a", "b", "--rule", "r"], ["--ids", "a", "--ids", "b", "--rule", "r"]),
    (["--ids=a", "b"], ["--ids", "a", "--ids", "b"]),
    (["--rule", "r", "--ids", '["a","b"]'], ["--rule", "r", "--ids", '["a","b"]']),
    (["--ids", "a", "--", "b"], ["--ids", "a", "--", "b"]),
    (["--rule", "a", "b"], ["--rule", "a", "b"]),
])
def test_spread_lists(args: list[str], spread: list[str]) -> None:
    assert spread_lists(args, ["--ids"]) == spread


def test_values_as_the_aws_cli_reads_them(tmp_path: Path) -> None:
    targets, ids = by_flag("events", "PutTargets")["--targets"], by_flag("events", "RemoveTargets")["--ids"]
    pattern = by_flag("events", "PutRule")["--event-pattern"]
    file = tmp_path / "targets.json"
    file.write_text('[{"Id": "t", "Arn": "kafka:topic/x"}]')
    assert member_value(targets, f"file://{file}") == [{"Id": "t", "Arn": "kafka:topic/x"}]
    assert member_value(ids, ("a", "b")) == ["a", "b"]
    assert member_value(ids, ('["a", "b"]',)) == ["a", "b"]
    assert member_value(pattern, '{"source": ["x"]}') == '{"source": ["x"]}'  # a string member stays text


@pytest.mark.parametrize(("flag", "value", "reason"), [
    ("--targets", "[{", "Invalid JSON: Expecting property name enclosed in double quotes: line 1 column 3 (char 2)"),
    ("--targets", '{"Id": "t"}', "expected a JSON array (TargetList), found an object"),
    ("--targets", "file:///no/such/file", "Unable to load paramfile file:///no/such/file: No such file or directory"),
    ("--ids", ('[1]',), "expected a list of strings, found 1"),
])
def test_a_value_that_cannot_be_read_names_the_flag(flag: str, value: object, reason: str) -> None:
    found = {**by_flag("events", "PutTargets"), **by_flag("events", "RemoveTargets")}[flag]
    with pytest.raises(ParameterError) as raised:
        member_value(found, value)
    assert raised.value.path == flag
    assert str(raised.value) == f"ValidationException: Error parsing parameter '{flag}': {reason}"


def test_cli_input_json_is_the_base_and_flags_override_it() -> None:
    chosen = flags("events", "PutRule")
    base = cli_input('{"Name": "r", "EventPattern": "{}", "State": "DISABLED"}')
    assert build_request(chosen, {"State": "ENABLED", "Description": None}, base) == {"Name": "r", "EventPattern": "{}",
                                                                                        "State": "ENABLED"}
    with pytest.raises(MissingParameters, match="the following arguments are required: --name"):
        build_request(chosen, {"State": "ENABLED"}, {})
    with pytest.raises(ParameterError, match="'--cli-input-json': expected a JSON object"):
        cli_input("[]")


def test_timestamps_print_as_aws_cli_v2_prints_them() -> None:
    answer = with_iso_timestamps("events", "ListRules", {"Rules": [{"Name": "r"}]})
    assert answer == {"Rules": [{"Name": "r"}]}
    bus = with_iso_timestamps("events", "DescribeEventBus", {"Name": "b", "CreationTime": 1700000000.5})
    assert bus == {"Name": "b", "CreationTime": datetime.fromtimestamp(1700000000.5).astimezone().isoformat()}
    assert datetime.fromisoformat(bus["CreationTime"]).timestamp() == 1700000000.5


def test_tables_hold_plain_members_and_one_table_per_list() -> None:
    found = tables("ListRules", {"Rules": [{"Name": "a", "State": "ENABLED"}, {"Name": "b", "EventPattern": '["x"]'}],
                                 "NextToken": "n"})
    assert [t.title for t in found] == ["ListRules", "ListRules: Rules"]
    assert [c.header for c in found[1].columns] == ["Name", "State", "EventPattern"]
    assert [str(cell) for cell in found[1].columns[2].cells] == ["", '["x"]']


def test_an_aws_error_is_the_aws_cli_line() -> None:
    error = OperationFailed("DescribeRule", "ResourceNotFoundException", "Rule x does not exist on EventBus default.",
                            input_error=True)
    assert str(error) == ("An error occurred (ResourceNotFoundException) when calling the DescribeRule operation: "
                          "Rule x does not exist on EventBus default.")


def test_bad_input_fails_before_any_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing listens on port 1: a connection would fail with exit 1 after the client timeout, not exit 2 at once."""
    from eventpipes.settings import get_settings

    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        bad = runner.invoke(cli, ["put-targets", "--rule", "r", "--targets", "[{"])
        missing = runner.invoke(cli, ["put-rule", "--event-pattern", "{}"])
        boolean = runner.invoke(cli, ["delete-rule", "--name", "r", "--force", "yes"])
    finally:
        get_settings.cache_clear()
    assert bad.exit_code == 2 and bad.stderr.startswith("ValidationException: Error parsing parameter '--targets'")
    assert bad.stderr.count("\n") == 1 and bad.stdout == ""
    assert missing.exit_code == 2 and missing.stderr == "ValidationException: the following arguments are required: --name\n"
    assert boolean.exit_code == 2  # --force takes no value (click's usage error)


def test_help_lists_verbs_without_loading_the_models() -> None:
    code = ("import sys; from click.testing import CliRunner; from eventpipes.cli.main import cli; "
            "out = CliRunner().invoke(cli, ['--help']).output; "
            "print('put-rule' in out, 'botocore' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["True", "False"], done.stderr


def test_a_verbs_help_shows_its_flags() -> None:
    shown = CliRunner().invoke(cli, ["remove-targets", "--help"])
    assert shown.exit_code == 0
    for text in ("--rule TEXT", "--ids VALUE ...", "--force / --no-force", "--output [json|table]", "--command-config",
                 "aws events remove-targets"):
        assert text in shown.output, text


class FakePlane:
    """Stands in for ``ControlPlane``: answers from a table, or raises what it was given."""

    answers: dict[str, object] = {}
    calls: list[tuple[str, dict[str, object]]] = []

    def __init__(self, settings: object) -> None:
        pass

    def __enter__(self) -> "FakePlane":
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def invoke(self, operation: str, request: dict[str, object]) -> object:
        FakePlane.calls.append((operation, request))
        answer = FakePlane.answers[operation]
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture
def fake_plane(monkeypatch: pytest.MonkeyPatch) -> type[FakePlane]:
    import eventpipes.control
    import eventpipes.kafka.diagnose

    monkeypatch.setattr(eventpipes.kafka.diagnose, "preflight", lambda *args: None)
    monkeypatch.setattr(eventpipes.control, "ControlPlane", FakePlane)
    FakePlane.answers, FakePlane.calls = {}, []
    return FakePlane


def test_the_request_sent_and_the_answer_printed(fake_plane: type[FakePlane]) -> None:
    from eventpipes.control import ResourceNotFoundException
    from eventpipes.control.errors import InternalException

    fake_plane.answers = {"RemoveTargets": {"FailedEntryCount": 0, "FailedEntries": []}, "EnableRule": {},
                          "DescribeRule": ResourceNotFoundException("Rule r does not exist on EventBus default."),
                          "ListRules": InternalException("The store did not answer within 10 s.")}
    runner = CliRunner()
    removed = runner.invoke(cli, ["remove-targets", "--rule", "r", "--ids", "a", "b", "--no-force"])
    assert removed.exit_code == 0 and json.loads(removed.stdout) == {"FailedEntryCount": 0, "FailedEntries": []}
    assert fake_plane.calls[-1] == ("RemoveTargets", {"Rule": "r", "Ids": ["a", "b"], "Force": False})
    enabled = runner.invoke(cli, ["enable-rule", "--name", "r"])
    assert (enabled.exit_code, enabled.stdout) == (0, "")  # nothing printed, as the AWS CLI prints nothing
    refused = runner.invoke(cli, ["describe-rule", "--name", "r"])
    assert refused.exit_code == 2
    assert refused.stderr == ("An error occurred (ResourceNotFoundException) when calling the DescribeRule operation: "
                              "Rule r does not exist on EventBus default.\n")
    unanswered = runner.invoke(cli, ["list-rules"])
    assert unanswered.exit_code == 1  # the system failed, not the request
    assert unanswered.stderr.startswith("An error occurred (InternalException) when calling the ListRules operation:")


def test_tag_operations_take_pipes_shape_on_a_pipes_arn(fake_plane: type[FakePlane]) -> None:
    fake_plane.answers = {"TagResource": {}}
    pipe = "arn:aws:pipes:us-east-1:000000000000:pipe/p"
    bus = "arn:aws:events:us-east-1:000000000000:event-bus/b"
    runner = CliRunner()
    assert runner.invoke(cli, ["tag-resource", "--resource-arn", pipe, "--tags", '{"k": "v"}']).exit_code == 0
    assert runner.invoke(cli, ["tag-resource", "--resource-arn", bus, "--tags", '[{"Key": "k", "Value": "v"}]']).exit_code == 0
    assert fake_plane.calls == [("TagResource", {"resourceArn": pipe, "tags": {"k": "v"}}),
                                ("TagResource", {"ResourceARN": bus, "Tags": [{"Key": "k", "Value": "v"}]})]
    wrong = runner.invoke(cli, ["tag-resource", "--resource-arn", pipe, "--tags", '[{"Key": "k", "Value": "v"}]'])
    assert wrong.exit_code == 2 and "'--tags': expected a JSON object (TagMap), found an array" in wrong.stderr
