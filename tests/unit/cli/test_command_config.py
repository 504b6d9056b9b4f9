"""``--command-config FILE`` on every command that talks to Kafka, as Kafka's own tools take it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

from eventpipes.cli.main import OFFLINE_COMMANDS, cli


def leaves(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found.update(leaves(command, f"{prefix}{name} "))
        else:
            found[f"{prefix}{name}"] = command
    return found


def test_every_command_but_the_offline_ones_takes_it() -> None:
    for name, command in leaves(cli).items():
        takes = any("--command-config" in param.opts for param in command.params)
        assert takes == (name.split()[0] not in OFFLINE_COMMANDS), name


def test_a_bad_file_is_one_line_naming_the_property_and_exit_2(tmp_path: Path) -> None:
    file = tmp_path / "client.properties"
    file.write_text("security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\nsasl.usernme=me\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")}
    done = subprocess.run([sys.executable, "-m", "eventpipes", "tail", "--bus", "default", "--command-config", str(file)],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "InvalidClientConfiguration: unknown client property 'sasl.usernme'" in done.stderr
