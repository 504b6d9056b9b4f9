"""``eventpipes demo``: run topologies/orders.yaml end to end (what `make demo` runs)."""

from __future__ import annotations

from pathlib import Path

import click

from eventpipes.broker import process
from eventpipes.settings import get_settings


@click.command()
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
              help="The checkout holding topologies/.")
def demo(root: Path) -> None:
    """Serve a webhook, run a worker on topologies/orders.yaml, put sample events, show where they went."""
    from eventpipes.demo import run_demo

    settings = get_settings()
    process.start(settings)
    run_demo(root, settings)
