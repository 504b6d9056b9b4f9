"""``eventpipes``: the entry point, and how every command reports an error.

Errors print one line to stderr. Exit 2 means the input was wrong (fix it and
run again); exit 1 means the system failed (a broker away, a port taken).
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
from pathlib import Path
from importlib.metadata import version
from collections.abc import Callable
from typing import Any

import click
from pydantic import ValidationError

from eventpipes.errors import ConfigurationError, EventPipesError, ValidationException
from eventpipes.events.errors import InvalidEvent

#: Errors that mean "the input is wrong", as opposed to "the system failed".
INPUT_ERRORS: tuple[type[Exception], ...] = (ValidationException, InvalidEvent, ConfigurationError)


class EventPipesGroup(click.Group):
    """Turns eventpipes errors into one stderr line and an exit code instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ValidationError as exc:
            _fail(f"ConfigurationError: {_pydantic_summary(exc)}", 2)
        except EventPipesError as exc:
            _fail(str(exc), 2 if isinstance(exc, INPUT_ERRORS) or getattr(exc, "input_error", False) else 1)


def _pydantic_summary(exc: ValidationError) -> str:
    problems = [f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors()]
    return "; ".join(problems)


def _fail(message: str, code: int) -> None:
    click.echo(message, err=True)
    sys.exit(code)


@click.group(cls=EventPipesGroup)
@click.version_option(version("eventpipes"), prog_name="eventpipes")
def cli() -> None:
    """EventBridge and EventBridge Pipes on your own Apache Kafka."""


#: Command modules under eventpipes.cli; each module's own click commands are added.
#: A module not written yet is skipped, so features land one command group at a time.
COMMAND_MODULES = ("broker", "events", "patterns", "topology", "run", "demo", "schemas", "archive", "pipe", "api", "apply")


#: Commands that never open a Kafka client, so they take no ``--command-config``.
OFFLINE_COMMANDS = frozenset({"test-event-pattern", "validate", "broker"})

#: Command modules whose commands are made in a loop and listed in the module's ``COMMANDS``
#: (cli/verbs.py: one command per AWS operation).
GENERATED_COMMAND_MODULES = ("verbs",)


def _use_command_config(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    """``--command-config FILE`` as Kafka's own tools take it: the client properties for this command.

    It becomes ``KAFKA_CLIENT_PROPERTIES`` (absolute) for this process and every process it
    starts (detached replays and pipes, a demo's worker), so all of them connect the same way.
    """
    if value is not None:
        from eventpipes.settings import get_settings

        os.environ["KAFKA_CLIENT_PROPERTIES"] = str(value.resolve())
        get_settings.cache_clear()


def command_config_option() -> click.Option:
    return click.Option(["--command-config"], type=click.Path(exists=True, dir_okay=False, path_type=Path),
                        callback=_use_command_config, expose_value=False, is_eager=True,
                        help="Kafka client properties file (security.protocol, sasl.*, ssl.*); "
                             "overrides KAFKA_CLIENT_PROPERTIES.")


def _add_command_config(command: click.Command) -> None:
    if command.name in OFFLINE_COMMANDS:
        return
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _add_command_config(sub)
    elif command.callback is not None:
        command.params.append(command_config_option())
        command.callback = _with_preflight(command.callback)


def _with_preflight(callback: Callable[..., Any]) -> Callable[..., Any]:
    """The command, after one probe connection has shown the cluster accepts the client settings.

    A wrong password or an untrusted certificate fails here, typed and within the timeout,
    instead of as the clients' "unable to bootstrap" after their retries (eventpipes.kafka.diagnose).
    """

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        from eventpipes.kafka.client_config import client_config
        from eventpipes.kafka.diagnose import preflight
        from eventpipes.settings import get_settings

        settings = get_settings()
        preflight(client_config(settings), settings.kafka_timeout_seconds)
        return callback(*args, **kwargs)

    return run


def _register() -> None:
    for name in (*COMMAND_MODULES, *GENERATED_COMMAND_MODULES):
        qualified = f"eventpipes.cli.{name}"
        try:
            module = importlib.import_module(qualified)
        except ModuleNotFoundError as exc:
            if exc.name == qualified:
                continue
            raise
        commands = [
            value
            for value in vars(module).values()
            # Only commands defined in that module, not ones it imported.
            if isinstance(value, click.Command) and getattr(value.callback, "__module__", None) == qualified
        ] + list(getattr(module, "COMMANDS", ()))  # commands a module makes in a loop (cli/verbs.py)
        nested = {id(sub) for group in commands if isinstance(group, click.Group) for sub in group.commands.values()}
        for command in commands:
            if id(command) not in nested:
                _add_command_config(command)
                cli.add_command(command)


_register()


def main() -> None:
    cli(prog_name="eventpipes")
