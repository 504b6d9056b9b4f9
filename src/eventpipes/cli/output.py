"""How commands print results: JSON in the AWS response shape."""

from __future__ import annotations

import json
import sys
from typing import Any

import click


def print_json(body: Any) -> None:
    click.echo(json.dumps(body, indent=4, ensure_ascii=False))


def read_argument(value: str) -> str:
    """An argument given inline, as ``file://path``, as a path, or ``-`` for stdin (as the AWS CLI takes them)."""
    from pathlib import Path

    from eventpipes.errors import ValidationException

    if value == "-":
        return sys.stdin.read()
    path_text = value[len("file://"):] if value.startswith("file://") else None
    if path_text is None and not value.lstrip().startswith(("{", "[")) and Path(value).is_file():
        path_text = value
    if path_text is None:
        return value
    try:
        return Path(path_text).read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationException(f"cannot read {path_text}: {exc.strerror}") from exc
