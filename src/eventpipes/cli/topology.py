"""``eventpipes validate``: check topology files and report every problem with its location."""

from __future__ import annotations

import click

from eventpipes.topology import Topology, TopologyError, load_file


def _count(number: int, singular: str, plural: str) -> str:
    return f"{number} {singular if number == 1 else plural}"


def contents(topology: Topology) -> str:
    """What a topology holds, naming only the kinds it has: ``2 buses, 2 rules, 3 targets``, ``1 pipe``."""
    counts = [
        (len(topology.bus_names()), "bus", "buses"),
        (len(topology.rules), "rule", "rules"),
        (sum(len(rule.targets) for rule in topology.rules), "target", "targets"),
        (len(topology.api_destinations), "API destination", "API destinations"),
        (len(topology.connections), "connection", "connections"),
        (len(topology.archives), "archive", "archives"),
        (len(topology.pipes), "pipe", "pipes"),
    ]
    return ", ".join(_count(*count) for count in counts if count[0]) or "nothing to run"


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def validate(files: tuple[str, ...]) -> None:
    """Check topology FILES; print every problem as file:line:column: path: message.

    Function targets are imported (running their modules' top level) to check that they exist
    and are callable, as `eventpipes run` will need them.
    """
    failed = 0
    for file in files:
        try:
            topology = load_file(file, import_functions=True)
        except TopologyError as error:
            failed += 1
            for problem in error.problems:
                click.echo(str(problem), err=True)
            continue
        click.echo(f"{file}: valid ({contents(topology)})")
    if failed:
        raise SystemExit(2)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--group", help="The topology's consumer group [default: eventpipes.<file stem>].")
@click.option("--web-port", "web_ports", type=click.IntRange(1, 65535), multiple=True,
              help="A worker's metrics port; repeat it for each worker [default: 6066].")
def status(file: str, group: str | None, web_ports: tuple[int, ...]) -> None:
    """Summarize a topology: lag per bus and target (from Kafka), counters per rule and target (summed over its workers).

    Scheduled rules also show ScheduleExpression, LastFireTime and NextFireTime (from Kafka).
    """
    from eventpipes.app import default_group
    from eventpipes.status import status as topology_status
    from eventpipes.cli.output import print_json
    from eventpipes.kafka.client_config import client_config
    from eventpipes.settings import get_settings

    topology = load_file(file)
    print_json(topology_status(
        topology, kafka=client_config(get_settings()), group=group or default_group(file),
        metrics_urls=[f"http://127.0.0.1:{port}/metrics" for port in web_ports or (6066,)],
    ))
