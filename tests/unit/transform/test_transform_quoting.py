"""How each kind of value is inserted: bare or quoted in a JSON template, or in text."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventpipes.transform import (
    MISSING,
    Flavour,
    InputTransformer,
    ObjectInsideQuotes,
    Quoting,
    format_value,
    parse_template,
    transform,
)

DETAIL: dict[str, Any] = {
    "text": "RUNNING", "number": 42, "float": 2.5, "yes": True, "no": False, "nothing": None,
    "object": {"a": 1, "b": [1, 2]}, "array": ["x", 1, None], "quote": 'say "hi"',
    "newline": "line1\nline2", "unicode": "Grüße ☃", "backslash": "a\\b", "angle": "<b>",
}
EVENT = {"id": "e1", "detail-type": "T", "source": "s", "account": "1", "time": "t", "region": "r",
         "resources": [], "version": "0", "detail": DETAIL}


def fill(template: str, **paths: str) -> str:
    paths = paths or {name: f"$.detail.{name}" for name in DETAIL}
    return transform(InputTransformer(template, paths), EVENT, rule_name="rule", rule_arn="arn", ingestion_time="now")


@pytest.mark.parametrize(("name", "bare"), [
    ("text", '"RUNNING"'), ("number", "42"), ("float", "2.5"), ("yes", "true"), ("no", "false"),
    ("nothing", "null"), ("object", '{"a":1,"b":[1,2]}'), ("array", '["x",1,null]'),
    ("quote", '"say \\"hi\\""'), ("newline", '"line1\\nline2"'), ("unicode", '"Grüße ☃"'),
    ("backslash", '"a\\\\b"'), ("angle", '"<b>"'),
])
def test_bare_placeholder_in_json_is_the_value_as_json(name: str, bare: str) -> None:
    out = fill(f'{{"v": <{name}>}}')
    assert out == f'{{"v":{bare}}}'
    assert json.loads(out)["v"] == DETAIL[name]


@pytest.mark.parametrize(("name", "inside"), [
    ("text", "RUNNING"), ("number", "42"), ("yes", "true"), ("nothing", "null"), ("quote", 'say "hi"'),
    ("newline", "line1\nline2"), ("unicode", "Grüße ☃"), ("backslash", "a\\b"),
])
def test_quoted_placeholder_in_json_is_text_inside_a_valid_string(name: str, inside: str) -> None:
    out = fill(f'{{"v": "[<{name}>]"}}')
    assert json.loads(out)["v"] == f"[{inside}]"


@pytest.mark.parametrize(("name", "kind"), [("object", "object"), ("array", "array")])
def test_an_object_or_array_inside_quotes_in_json_fails_the_event(name: str, kind: str) -> None:
    for template in (f'{{"v": "<{name}>"}}', f'{{"v": "users/<{name}>"}}', f'["<{name}>"]'):
        with pytest.raises(ObjectInsideQuotes) as caught:
            fill(template)
        assert (caught.value.placeholder, caught.value.kind, caught.value.retryable) == (name, kind, False)


@pytest.mark.parametrize(("name", "text"), [
    ("text", "RUNNING"), ("number", "42"), ("nothing", "null"), ("object", "{a:1,b:[1,2]}"), ("array", "[x,1,null]"),
    ("quote", 'say "hi"'), ("newline", "line1\nline2"), ("unicode", "Grüße ☃"),
])
def test_text_template_inserts_characters_unescaped(name: str, text: str) -> None:
    assert fill(f"value: <{name}>!") == f"value: {text}!"
    assert fill(f'"value: <{name}>"') == f'"value: {text}"'


def test_missing_path_everywhere() -> None:
    assert fill('{"v": <gone>}', gone="$.detail.absent") == '{"v":""}'
    assert fill('{"v": "a<gone>b"}', gone="$.detail.absent") == '{"v":"ab"}'
    assert fill("a<gone>b", gone="$.detail.absent") == "ab"


def test_null_is_a_value_not_missing() -> None:
    assert fill('{"v": <n>}', n="$.detail.nothing") == '{"v":null}'


def test_json_template_is_minified_but_strings_keep_their_spaces() -> None:
    assert fill('{\n  "a b" : [ 1 ,\t2 ],\n  "c" : "  x  <text>  "\n}') == '{"a b":[1,2],"c":"  x  RUNNING  "}'


def test_text_template_is_kept_byte_for_byte() -> None:
    assert fill("  <text>\n\t{ not json ") == "  RUNNING\n\t{ not json "


def test_array_template_is_json() -> None:
    assert fill('[ <text>, "<number>" ]') == '["RUNNING","42"]'


def test_wildcard_variable_gives_a_list() -> None:
    assert fill('{"v": <all>}', all="$.detail.array[*]") == '{"v":["x",1,null]}'


def test_reserved_event_json_inside_a_string_fails_the_event_as_any_object_does() -> None:
    with pytest.raises(ObjectInsideQuotes, match="<aws.events.event.json>"):
        fill('{"e": "<aws.events.event.json>"}')


def test_escaped_quote_before_placeholder_keeps_string_context() -> None:
    out = fill('{"v": "\\"<text>\\" and \\\\", "w": <number>}')
    assert json.loads(out) == {"v": '"RUNNING" and \\', "w": 42}


def test_format_value_directly() -> None:
    assert format_value("a\"b", Quoting.JSON_VALUE) == '"a\\"b"'
    assert format_value("a\"b", Quoting.JSON_STRING) == 'a\\"b'
    assert format_value("a\"b", Quoting.TEXT) == 'a"b'
    assert format_value(MISSING, Quoting.JSON_VALUE) == '""'
    assert format_value({"a": [1, "b c"]}, Quoting.TEXT, Flavour.RULES) == "{a:[1,b c]}"
    with pytest.raises(ObjectInsideQuotes):
        format_value([1], Quoting.JSON_STRING, Flavour.RULES, placeholder="p")


def test_pipes_keep_json_for_objects_in_text_and_inside_quotes() -> None:
    assert format_value({"a": [1, "b"]}, Quoting.TEXT) == '{"a":[1,"b"]}'
    assert format_value({"a": 1}, Quoting.JSON_STRING, Flavour.PIPES) == '{\\"a\\":1}'
    template = parse_template('{"v": "<$.body>", "w": "<$.list>"}')
    values = {"$.body": {"k": "v"}, "$.list": [1]}
    assert json.loads(template.render(lambda name: values[name])) == {"v": '{"k":"v"}', "w": "[1]"}


def test_template_engine_is_reusable_with_pipes_style_placeholders() -> None:
    template = parse_template('{"key": <$.body.key>, "pipe": <aws.pipes.pipe-name>}')
    assert template.placeholders == ("$.body.key", "aws.pipes.pipe-name")
    values = {"$.body.key": [1], "aws.pipes.pipe-name": "p1"}
    assert template.render(lambda name: values.get(name, MISSING)) == '{"key":[1],"pipe":"p1"}'


def test_whitespace_inside_angle_brackets_is_not_a_placeholder() -> None:
    assert parse_template('"a < b and c > d"').placeholders == ()


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=10,
)


@given(JSON_VALUES)
def test_any_value_bare_in_json_round_trips(value: Any) -> None:
    out = transform(InputTransformer('{"v": <v>}', {"v": "$.detail.v"}), dict(EVENT, detail={"v": value}),
                    rule_name="r", rule_arn="a", ingestion_time="t")
    assert json.loads(out) == {"v": value}


@given(st.text())
def test_any_string_inside_quotes_stays_valid_json(value: str) -> None:
    out = transform(InputTransformer('{"v": "<<v>>"}', {"v": "$.detail.v"}), dict(EVENT, detail={"v": value}),
                    rule_name="r", rule_arn="a", ingestion_time="t")
    assert json.loads(out) == {"v": f"<{value}>"}
