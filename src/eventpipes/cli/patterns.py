"""``eventpipes test-event-pattern``: the counterpart of ``aws events test-event-pattern``."""

from __future__ import annotations

import click

from eventpipes.cli.output import print_json, read_argument
from eventpipes.errors import ValidationException
from eventpipes.patterns.tester import evaluate_test_event


@click.command("test-event-pattern")
@click.option("--event-pattern", required=True, help="The pattern: inline JSON, file://path, or - for stdin.")
@click.option("--event", "event", required=True, help="The event: inline JSON, file://path, or - for stdin.")
def test_event_pattern(event_pattern: str, event: str) -> None:
    """Test whether an event matches an event pattern; prints {"Result": true|false}.

    An invalid pattern (InvalidEventPatternException) or event (ValidationException),
    including JSON nested deeper than PutEvents processes, is printed on stderr and exits 2.
    """
    result = evaluate_test_event(_read(event_pattern, "EventPattern"), _read(event, "Event"))
    print_json({"Result": result})


def _read(value: str, parameter: str) -> str:
    try:
        return read_argument(value)
    except UnicodeDecodeError as exc:
        raise ValidationException(
            f"Parameter {parameter} is not valid. Reason: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
