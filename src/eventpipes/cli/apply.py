"""``eventpipes apply FILE`` and ``eventpipes export``: a topology file into the store, and back out."""

from __future__ import annotations

from pathlib import Path

import click

from eventpipes.topology import TopologyError, load_file


@click.command(name="apply")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--prune", is_flag=True, help="Also delete what FILE does not declare (rules, pipes, archives with their events, "
                                            "API destinations, connections, buses).")
@click.option("--dry-run", is_flag=True, help="Print what would change, and change nothing.")
def apply_file(file: str, prune: bool, dry_run: bool) -> None:
    """Make the control plane's store match topology FILE; print each change.

    Creates and updates what FILE declares (buses, connections, API destinations, rules and
    their targets, archives, pipes); a declared rule's targets are FILE's, so targets FILE does
    not list are removed. Nothing else is deleted without --prune. Applying the same file
    again changes nothing ("No changes.").

    \b
    Lines: + created, ~ changed (the members that differ), - deleted.
    A connection secret written as <stored secret> (as `eventpipes export` writes them) keeps the stored one.
    """
    from eventpipes.apply import plan_topology, run_plan
    from eventpipes.archive.store import ArchiveStore
    from eventpipes.control import ControlPlane
    from eventpipes.control.plan import Step
    from eventpipes.settings import get_settings

    try:
        topology = load_file(file)
    except TopologyError as error:
        for problem in error.problems:
            click.echo(str(problem), err=True)
        raise SystemExit(2) from None
    def done(step: Step) -> None:  # printed as each step is made: a later refusal leaves these lines true
        for line in step.changes:
            click.echo(line)

    settings = get_settings()
    with ControlPlane(settings) as plane, ArchiveStore(settings) as archives:
        plan = plan_topology(plane, archives, topology, prune=prune)
        for note in plan.notes:
            click.echo(f"note: {note}", err=True)
        if not plan.steps:
            click.echo("No changes.")
        elif dry_run:
            for line in plan.changes:
                click.echo(line)
            click.echo(f"Dry run: {len(plan.changes)} change{'s' if len(plan.changes) != 1 else ''} planned, nothing changed.")
        else:
            run_plan(plane, archives, plan, done)


@click.command(name="export")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the topology to this file [default: standard output].")
def export_store(output: Path | None) -> None:
    """Write the control plane's store as a topology file that `eventpipes apply` accepts.

    Connection secrets are never written: each reads <stored secret>, which apply takes as
    "keep the stored secret", so applying the export changes nothing.
    """
    from eventpipes.apply import export_text
    from eventpipes.archive.store import ArchiveStore
    from eventpipes.control import ControlPlane
    from eventpipes.settings import get_settings

    settings = get_settings()
    with ControlPlane(settings) as plane, ArchiveStore(settings) as archives:
        text = export_text(plane, archives)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text)
