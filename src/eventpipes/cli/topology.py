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
