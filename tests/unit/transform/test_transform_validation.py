"""What PutTargets refuses, with EventBridge's messages where it has them and the field named."""

from __future__ import annotations

from typing import Any

import pytest

from eventpipes.transform import (
    ConstantInput,
    InputTransformer,
    InvalidInputTransformer,
    InvalidTargetInput,
    PathInput,
    TemplateInput,
    target_input_from_dict,
)


def transformer_error(body: Any, target_id: str | None = "t1") -> InvalidInputTransformer:
    with pytest.raises(InvalidInputTransformer) as caught:
        InputTransformer.from_dict(body, target_id=target_id)
    assert caught.value.code == "ValidationException"
    return caught.value


def test_recorded_undefined_placeholder_message() -> None:
    error = transformer_error({"InputPathsMap": {"a": "$.a"},
                               "InputTemplate": '"Event of <a> type, with not defined key <notdefinedkey>"'})
    assert error.reason == "InputTemplate for target t1 contains invalid placeholder notdefinedkey."
    assert error.path == "InputTransformer.InputTemplate"


def test_recorded_only_one_input_kind_message() -> None:
    with pytest.raises(InvalidTargetInput) as caught:
        target_input_from_dict({"Id": "t9", "InputPath": "$.detail",
                                "InputTransformer": {"InputTemplate": '"x"'}})
    assert caught.value.reason == "Only one of Input, InputPath, or InputTransformer must be provided for target t9."


def test_reserved_variables_need_no_definition() -> None:
    InputTransformer('"<aws.events.rule-arn> <aws.events.rule-name> <aws.events.event> '
                     '<aws.events.event.json> <aws.events.event.ingestion-time>"').validate()


@pytest.mark.parametrize("name", ["aws.events.event", "aws.events.rule-name", "AWS.custom"])
def test_reserved_names_cannot_be_defined(name: str) -> None:
    error = transformer_error({"InputPathsMap": {name: "$.detail"}, "InputTemplate": '"x"'})
    assert error.path == f"InputTransformer.InputPathsMap.{name}"
    assert "reserved" in error.reason


@pytest.mark.parametrize("name", ["has space", "dot.ted", "", "a" * 257, "ü"])
def test_variable_names_follow_the_key_pattern(name: str) -> None:
    error = transformer_error({"InputPathsMap": {name: "$.detail"}, "InputTemplate": '"x"'})
    assert error.path == f"InputTransformer.InputPathsMap.{name}"


def test_variable_name_of_256_characters_is_allowed() -> None:
    name = "a" * 256
    InputTransformer.from_dict({"InputPathsMap": {name: "$.detail"}, "InputTemplate": f'"<{name}>"'})


def test_at_most_100_variables() -> None:
    paths = {f"v{i}": "$.detail" for i in range(100)}
    InputTransformer.from_dict({"InputPathsMap": paths, "InputTemplate": '"x"'})
    paths["v100"] = "$.detail"
    error = transformer_error({"InputPathsMap": paths, "InputTemplate": '"x"'})
    assert error.path == "InputTransformer.InputPathsMap"


def test_paths_map_values_need_dot_notation_and_at_most_256_characters() -> None:
    assert transformer_error({"InputPathsMap": {"v": "$['detail']"}, "InputTemplate": '"x"'}).path == (
        "InputTransformer.InputPathsMap.v")
    long_path = "$." + "a" * 255
    assert "256" in transformer_error({"InputPathsMap": {"v": long_path}, "InputTemplate": '"x"'}).reason


def test_template_length_limits() -> None:
    assert transformer_error({"InputTemplate": ""}).path == "InputTransformer.InputTemplate"
    assert transformer_error({"InputTemplate": "x" * 8193}).path == "InputTransformer.InputTemplate"
    InputTransformer.from_dict({"InputTemplate": "x" * 8192})


@pytest.mark.parametrize("template", ['{<k>: 1}', '{"<k>": 1}', '{"a<k>": 1}'])
def test_placeholder_cannot_be_an_object_key(template: str) -> None:
    error = transformer_error({"InputPathsMap": {"k": "$.id"}, "InputTemplate": template})
    assert "object key" in error.reason


def test_json_template_must_be_valid_json() -> None:
    error = transformer_error({"InputPathsMap": {"k": "$.id"}, "InputTemplate": '{"a": <k>,}'})
    assert "not valid JSON" in error.reason


@pytest.mark.parametrize(("body", "path"), [
    ("not an object", "InputTransformer"),
    ({"InputPathsMap": {}}, "InputTransformer.InputTemplate"),
    ({"InputTemplate": "x", "Extra": 1}, "InputTransformer.Extra"),
    ({"InputTemplate": "x", "InputPathsMap": {"a": 1}}, "InputTransformer.InputPathsMap"),
])
def test_malformed_transformer_bodies(body: Any, path: str) -> None:
    assert transformer_error(body).path == path


def test_constant_input_must_be_json_of_at_most_8192_characters() -> None:
    with pytest.raises(InvalidTargetInput) as caught:
        target_input_from_dict({"Id": "t", "Input": "not json"})
    assert caught.value.path == "Input"
    with pytest.raises(InvalidTargetInput):
        target_input_from_dict({"Id": "t", "Input": '"' + "x" * 8191 + '"'})
    assert target_input_from_dict({"Id": "t", "Input": '"' + "x" * 8190 + '"'}) is not None


def test_input_path_limits() -> None:
    with pytest.raises(InvalidTargetInput) as caught:
        target_input_from_dict({"Id": "t", "InputPath": "$." + "a" * 255})
    assert caught.value.path == "InputPath"
    with pytest.raises(InvalidTargetInput):
        target_input_from_dict({"Id": "t", "InputPath": "detail"})


def test_kinds_read_from_a_target() -> None:
    assert target_input_from_dict({"Id": "t"}) is None
    assert target_input_from_dict({"Id": "t", "Input": "{}"}) == ConstantInput("{}")
    assert target_input_from_dict({"Id": "t", "InputPath": "$.detail"}) == PathInput("$.detail")
    transformer = target_input_from_dict({"Id": "t", "InputTransformer": {"InputTemplate": '"x"'}})
    assert transformer == TemplateInput(InputTransformer('"x"'))


def test_str_is_one_line_naming_code_and_field() -> None:
    error = transformer_error({"InputPathsMap": {"bad name": "$.a"}, "InputTemplate": "x"})
    assert str(error).startswith("ValidationException: ")
    assert str(error).endswith("(at InputTransformer.InputPathsMap.bad name)")
    assert "\n" not in str(error)


def test_to_dict_round_trip() -> None:
    body = {"InputTemplate": '"<a>"', "InputPathsMap": {"a": "$.id"}}
    assert InputTransformer.from_dict(body).to_dict() == body
