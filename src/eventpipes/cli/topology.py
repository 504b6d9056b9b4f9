"""``eventpipes validate``: check topology files and report every problem with its location."""

from __future__ import annotations

import click

from eventpipes.topology import TopologyError, load_file


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def validate(files: tuple[str, ...]) -> None:
    """Check topology FILES; print every problem as file:line:column: path: message."""
    failed = 0
    for file in files:
        try:
            topology = load_file(file)
        except TopologyError as error:
            failed += 1
            for problem in error.problems:
                click.echo(str(problem), err=True)
            continue
        targets = sum(len(rule.targets) for rule in topology.rules)
        click.echo(f"{file}: valid ({len(topology.bus_names())} buses, {len(topology.rules)} rules, {targets} targets)")
    if failed:
        raise SystemExit(2)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--group", help="The topology's consumer group [default: eventpipes.<file stem>].")
@click.option("--web-port", type=click.IntRange(1, 65535), default=6066, show_default=True, help="A worker's metrics port.")
def status(file: str, group: str | None, web_port: int) -> None:
    """Summarize a topology: lag per bus and target (from Kafka), counters per rule and target (from a worker)."""
    from eventpipes.app import default_group
    from eventpipes.bus.status import status as topology_status
    from eventpipes.cli.output import print_json
    from eventpipes.settings import get_settings

    topology = load_file(file)
    print_json(topology_status(
        topology, bootstrap=get_settings().bootstrap_servers, group=group or default_group(file),
        metrics_url=f"http://127.0.0.1:{web_port}/metrics",
    ))
