"""The registry's deterministic state machine, without Kafka."""

from __future__ import annotations

import json
import uuid

import pytest

from eventpipes.schemas import canonical
from eventpipes.schemas.registry import errors
from eventpipes.schemas.registry.model import (
    Command,
    DeleteConfig,
    DeleteSubject,
    DeleteVersion,
    Register,
    SetConfig,
    SetMode,
    decode,
    encode,
    parse_version,
)
from eventpipes.schemas.registry.state import RegistryState


def rid() -> str:
    return uuid.uuid4().hex


def schema(*names: str, defaults: bool = True) -> str:
    fields = [{"name": n, "type": "string", **({"default": ""} if defaults and i else {})} for i, n in enumerate(names)]
    return canonical.parse(json.dumps({"type": "record", "name": "R", "fields": fields})).text


def register(state: RegistryState, subject: str, text: str) -> object:
    return state.apply(Register(rid(), subject, text))


def test_ids_are_global_and_versions_per_subject() -> None:
    state = RegistryState()
    assert register(state, "a", schema("x")) == {"id": 1}
    assert register(state, "a", schema("x")) == {"id": 1}  # identical: no new version
    assert register(state, "a", schema("x", "y")) == {"id": 2}
    assert register(state, "b", schema("x", "y")) == {"id": 2}  # same text, other subject: same id
    assert state.versions("a") == [1, 2] and state.versions("b") == [1]
    assert state.version("a", None).schema_id == 2
    assert list(state.uses(2)) == [("a", 2), ("b", 1)]


def test_incompatible_registration_is_refused_with_reasons() -> None:
    state = RegistryState()
    register(state, "a", schema("x"))
    with pytest.raises(errors.IncompatibleSchema) as info:
        register(state, "a", schema("x", "y", defaults=False))
    assert info.value.http_status == 409 and info.value.error_code == 409
    assert "READER_FIELD_MISSING_DEFAULT_VALUE" in info.value.message
    assert state.versions("a") == [1]
    state.apply(SetConfig(rid(), "a", "NONE"))
    assert register(state, "a", schema("x", "y", defaults=False)) == {"id": 2}


def test_soft_then_permanent_delete() -> None:
    state = RegistryState()
    register(state, "a", schema("x"))
    register(state, "a", schema("x", "y"))
    with pytest.raises(errors.VersionNotSoftDeleted):
        state.apply(DeleteVersion(rid(), "a", 2, permanent=True))
    assert state.apply(DeleteVersion(rid(), "a", None, permanent=False)) == 2
    with pytest.raises(errors.VersionNotFound):
        state.version("a", 2)
    assert state.version("a", 2, deleted=True).deleted
    assert state.versions("a", deleted=True) == [1, 2]
    assert state.apply(DeleteVersion(rid(), "a", 2, permanent=True)) == 2
    # The next version continues after the highest existing one.
    assert register(state, "a", schema("x", "z")) == {"id": 3}
    assert state.versions("a") == [1, 2]
    with pytest.raises(errors.SubjectNotSoftDeleted):
        state.apply(DeleteSubject(rid(), "a", permanent=True))
    assert state.apply(DeleteSubject(rid(), "a", permanent=False)) == [1, 2]
    with pytest.raises(errors.SubjectSoftDeleted):
        state.apply(DeleteSubject(rid(), "a", permanent=False))
    with pytest.raises(errors.SubjectNotFound):
        state.versions("a")
    assert state.subjects() == [] and state.subjects(deleted=True) == ["a"]
    assert state.apply(DeleteSubject(rid(), "a", permanent=True)) == [1, 2]
    assert state.subjects(deleted=True) == []
    assert state.schema(1).text == schema("x")  # ids stay readable


def test_config_levels() -> None:
    state = RegistryState()
    assert state.level(None).value == "BACKWARD"
    with pytest.raises(errors.SubjectCompatibilityNotConfigured):
        state.level("a")
    state.apply(SetConfig(rid(), None, "FULL"))
    assert state.level("a", default_to_global=True).value == "FULL"
    state.apply(SetConfig(rid(), "a", "forward"))
    assert state.level("a").value == "FORWARD"
    assert state.apply(DeleteConfig(rid(), "a")) == {"compatibilityLevel": "FORWARD"}
    assert state.apply(DeleteConfig(rid(), None)) == {"compatibilityLevel": "FULL"}
    assert state.level(None).value == "BACKWARD"


def test_readonly_mode_refuses_writes() -> None:
    state = RegistryState()
    state.apply(SetMode(rid(), "READONLY"))
    with pytest.raises(errors.OperationNotPermitted):
        register(state, "a", schema("x"))


def test_lookup_and_check_version() -> None:
    state = RegistryState()
    register(state, "a", schema("x"))
    found = state.lookup("a", canonical.parse(schema("x")))
    assert (found.version, found.schema_id) == (1, 1)
    with pytest.raises(errors.SchemaNotFound):
        state.lookup("a", canonical.parse(schema("q")))
    with pytest.raises(errors.SubjectNotFound):
        state.lookup("nope", canonical.parse(schema("q")))
    assert not state.check_version("a", canonical.parse(schema("x", "y", defaults=False)), None).is_compatible
    with pytest.raises(errors.VersionNotFound):
        state.check_version("a", canonical.parse(schema("x")), 7)


def test_two_states_fed_the_same_log_agree() -> None:
    log: list[Command] = [Register(rid(), f"s{i % 3}", schema("x", *[f"f{j}" for j in range(i)])) for i in range(9)]
    log.append(DeleteSubject(rid(), "s1", permanent=False))
    encoded = [encode(c) for c in log]
    a, b = RegistryState(), RegistryState()
    for value in encoded:
        for state in (a, b):
            command = decode(value)
            assert command is not None
            try:
                state.apply(command)
            except errors.RegistryError:
                pass
    assert a.subjects(deleted=True) == b.subjects(deleted=True)
    for subject in a.subjects():
        assert [a.version(subject, v) for v in a.versions(subject)] == [b.version(subject, v) for v in b.versions(subject)]


def test_decode_skips_foreign_records() -> None:
    assert decode(b'{"keytype": "SCHEMA", "subject": "x"}') is None
    assert decode(b"\x00garbage") is None


@pytest.mark.parametrize(("text", "expected"), [("latest", None), ("-1", None), ("3", 3)])
def test_parse_version(text: str, expected: int | None) -> None:
    assert parse_version(text) == expected


@pytest.mark.parametrize("text", ["0", "abc", str(2**31)])
def test_invalid_version(text: str) -> None:
    with pytest.raises(errors.InvalidVersion):
        parse_version(text)


def test_error_round_trip_through_response_body() -> None:
    error = errors.from_response(404, {"error_code": 40401, "message": "Subject 'x' not found."})
    assert isinstance(error, errors.SubjectNotFound) and error.code == "40401"
    unknown = errors.from_response(500, {"error_code": 50099, "message": "boom"})
    assert unknown.error_code == 50099 and unknown.http_status == 500
