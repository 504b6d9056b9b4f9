"""``eventpipes put-rule``, ``create-event-bus``, ``create-pipe`` ...: the AWS CLI's verbs on the control plane.

Each verb is one EventBridge or Pipes operation the control plane serves, named as the
AWS CLI names it, with the AWS CLI's flags (derived from botocore's models in
``verb_model``, loaded only when a verb runs or shows its help, so ``eventpipes --help``
stays as fast as it was). A verb reads its flags, calls ``ControlPlane.invoke`` and
prints AWS's answer; AWS's error is one stderr line in the AWS CLI's words, exit 2 when
the request was refused, 1 when the store could not answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from eventpipes.cli.verb_model import Flag, kebab
from eventpipes.errors import EventPipesError

#: EventBridge operations served by the control plane (``eventpipes.api.plane.EVENTS_OPERATIONS``;
#: a unit test keeps the two equal: importing that module here would load Kafka clients at start-up).
EVENTS_VERBS = (
    "CreateEventBus", "DescribeEventBus", "ListEventBuses", "UpdateEventBus", "DeleteEventBus",
    "PutRule", "DescribeRule", "ListRules", "DeleteRule", "EnableRule", "DisableRule",
    "PutTargets", "RemoveTargets", "ListTargetsByRule", "ListRuleNamesByTarget",
    "CreateConnection", "DescribeConnection", "ListConnections", "UpdateConnection", "DeleteConnection",
    "CreateApiDestination", "DescribeApiDestination", "ListApiDestinations", "UpdateApiDestination",
    "DeleteApiDestination", "TagResource", "UntagResource", "ListTagsForResource",
)
#: Pipes operations served by the control plane (``eventpipes.api.plane.PIPES_OPERATIONS``).
PIPES_VERBS = ("CreatePipe", "DescribePipe", "UpdatePipe", "DeletePipe", "ListPipes", "StartPipe", "StopPipe",
               "TagResource", "UntagResource", "ListTagsForResource")


#: Where ``AwsVerb.invoke`` leaves the request it read for the callback (``click.Context.meta``).
_REQUEST = "eventpipes.verbs.request"


class OperationFailed(EventPipesError):
    """The control plane refused the request: AWS's ``code`` and message, printed as the AWS CLI prints them."""

    def __init__(self, operation: str, code: str, message: str, *, input_error: bool) -> None:
        super().__init__(message, code=code)
        self.operation = operation
        self.input_error = input_error

    def __str__(self) -> str:
        return f"An error occurred ({self.code}) when calling the {self.operation} operation: {self.message}"


def _services(operation: str) -> tuple[str, ...]:
    return tuple(s for s, ops in (("events", EVENTS_VERBS), ("pipes", PIPES_VERBS)) if operation in ops)


class AwsVerb(click.Command):
    """A command whose flags come from botocore's model of its operation, read the first time they are needed.

    ``eventpipes --help`` lists the verb by its name and short help alone, so it never loads
    a model; parsing, ``--help`` and completion call ``get_params``, which loads it.
    """

    def __init__(self, operation: str) -> None:
        self.operation = operation
        self.services = _services(operation)
        self._loaded = False
        service = "Pipes" if self.services == ("pipes",) else "EventBridge"
        short = f"{service} {operation}."
        super().__init__(name=kebab(operation), callback=self._run, short_help=short, help=short, params=[
            click.Option(["--output", "output"], type=click.Choice(("json", "table")), default="json", show_default=True,
                         help="json: AWS's response, as the AWS CLI prints it; table: tables for people."),
            click.Option(["--cli-input-json", "cli_input_json"], metavar="JSON",
                         help="The whole request as JSON (or file://PATH), as the AWS CLI takes it; flags override its members."),
        ])

    def _flags(self) -> tuple[Flag, ...]:
        from eventpipes.cli.verb_model import flags

        return flags(self.services[0], self.operation)

    def _load(self) -> None:
        if self._loaded:
            return
        from eventpipes.cli.verb_model import operation_help

        self._loaded = True
        options = [self._option(flag) for flag in self._flags()]
        self.params[:0] = options
        described = operation_help(self.services[0], self.operation)
        also = " Also Pipes' shape, for a pipe's ARN." if len(self.services) > 1 else ""
        self.help = (f"{self.short_help} As `aws {self.services[0]} {self.name}`.\n\n{described}{also}\n\n"
                     "Structures and lists take JSON text; any value takes file://PATH.")

    @staticmethod
    def _option(flag: Flag) -> click.Option:
        types = {"integer": click.INT, "float": click.FLOAT}
        hint = f" One of: {', '.join(flag.choices)}." if flag.choices else ""
        required = " [required]" if flag.required else ""
        if flag.kind == "boolean":
            name = flag.flag[2:]
            return click.Option([f"--{name}/--no-{name}", flag.dest], default=None, help=f"{flag.help}{required}")
        metavar = {"json": "JSON", "scalars": "VALUE ...", "string": "TEXT", "timestamp": "TIME"}.get(flag.kind, flag.kind.upper())
        return click.Option([flag.flag, flag.dest], type=types.get(flag.kind, click.STRING), multiple=flag.kind == "scalars",
                            metavar=metavar, help=f"{flag.help}{hint}{required}")

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        self._load()
        return super().get_params(ctx)

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._load()
        super().format_help_text(ctx, formatter)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        from eventpipes.cli.verb_params import spread_lists

        lists = [flag.flag for flag in self._flags() if flag.kind == "scalars"]
        return super().parse_args(ctx, spread_lists(args, lists))

    def invoke(self, ctx: click.Context) -> Any:
        """Read the flags into the request first, so a bad value fails before any connection is made."""
        ctx.meta[_REQUEST] = self._request(dict(ctx.params))
        return super().invoke(ctx)

    def _request(self, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        from eventpipes.cli.verb_model import flags
        from eventpipes.cli.verb_params import build_request, cli_input

        base = cli_input(params.pop("cli_input_json", None))
        params.pop("output", None)
        service = self._service_for({**base, **{k: v for k, v in params.items() if v is not None}})
        chosen = flags(service, self.operation)
        return service, build_request(chosen, _by_flag(chosen, self._flags(), params), base)

    def _run(self, output: str, **_: Any) -> None:
        from eventpipes.cli.verb_model import with_iso_timestamps
        from eventpipes.cli.verb_output import print_answer

        service, request = click.get_current_context().meta[_REQUEST]
        answer = invoke(self.operation, request)
        print_answer(self.operation, with_iso_timestamps(service, self.operation, answer), output)

    def _service_for(self, given: dict[str, Any]) -> str:
        """``pipes`` for a tag operation on a pipe's ARN (Pipes' shape), else the verb's own service."""
        if len(self.services) > 1:
            from eventpipes.arns import pipe_of_arn

            arn = given.get("ResourceARN", given.get("resourceArn"))
            if isinstance(arn, str) and pipe_of_arn(arn) is not None:
                return "pipes"
        return self.services[0]


def _by_flag(chosen: Sequence[Flag], shown: Sequence[Flag], given: dict[str, Any]) -> dict[str, Any]:
    """``given`` (keyed by the shown model's members) keyed by the chosen model's members, matched by flag name."""
    member_of = {flag.flag: flag.member for flag in shown}
    return {flag.dest: given.get(member_of.get(flag.flag, flag.dest)) for flag in chosen}


def invoke(operation: str, request: dict[str, Any]) -> dict[str, Any]:
    """``operation`` on the control plane of the configured cluster.

    Raises:
        OperationFailed: AWS's error (input error unless the store could not answer).
    """
    from eventpipes.control import ControlPlane, ControlPlaneError
    from eventpipes.settings import get_settings

    try:
        with ControlPlane(get_settings()) as plane:
            return plane.invoke(operation, request)
    except ControlPlaneError as exc:
        raise OperationFailed(operation, exc.code, exc.message, input_error=exc.input_error) from exc


#: The verbs, registered by ``eventpipes.cli.main`` beside the other commands.
COMMANDS = tuple(AwsVerb(operation) for operation in dict.fromkeys(EVENTS_VERBS + PIPES_VERBS))
