"""Running the AWS CLI-shaped verbs in this process against a control topic of the test's own."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from click.testing import CliRunner, Result

from eventpipes.cli.main import cli
from eventpipes.settings import get_settings
from eventpipes.testing import KafkaCluster, unique_name


class Verbs:
    """``eventpipes VERB ...`` through click's runner, with the environment a test gave it."""

    def __init__(self, kafka: KafkaCluster, env: dict[str, str]) -> None:
        self.kafka = kafka
        self.env = env
        self.runner = CliRunner()

    def call(self, *args: str) -> Result:
        """The verb's result, whatever its exit code."""
        return self.runner.invoke(cli, list(args), catch_exceptions=False)

    def ok(self, *args: str) -> Any:
        """The verb's JSON answer (None when it printed nothing); fails the test on a non-zero exit."""
        result = self.call(*args)
        assert result.exit_code == 0, f"{args[0]}: exit {result.exit_code}: {result.stderr}"
        assert result.stderr == "", result.stderr
        return json.loads(result.stdout) if result.stdout.strip() else None

    def fails(self, code: int, *args: str) -> str:
        """The verb's one stderr line, after checking it exited with ``code`` and printed nothing else."""
        result = self.call(*args)
        assert result.exit_code == code, f"{args[0]}: exit {result.exit_code}: {result.stdout} {result.stderr}"
        assert result.stdout == "" and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
        return result.stderr.rstrip("\n")

    def delete_topics_named(self, *names: str) -> None:
        """Delete every topic whose name holds one of ``names`` (buses, targets, delivery and retry topics)."""
        topics = [t for t in self.kafka.admin.topics() if any(name in t for name in names)]
        if topics:
            self.kafka.admin.delete_topics(topics)


@contextmanager
def verbs_on_own_store(kafka: KafkaCluster, monkeypatch: pytest.MonkeyPatch) -> Iterator[Verbs]:
    """A ``Verbs`` whose store is a control topic of its own (deleted after), with a key for connection secrets."""
    env = {**kafka.env(), "EVENTPIPES_CONTROL_TOPIC": unique_name("control"),
           "EVENTPIPES_CONTROL_KEY": base64.b64encode(os.urandom(32)).decode()}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        yield Verbs(kafka, env)
    finally:
        get_settings.cache_clear()
        kafka.admin.delete_topics([env["EVENTPIPES_CONTROL_TOPIC"]])
