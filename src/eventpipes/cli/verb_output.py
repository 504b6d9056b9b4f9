"""How a verb prints its answer: AWS's JSON (as the AWS CLI prints it), or tables for people.

``--output json`` (the default) prints the response as the AWS CLI does: indented, members
in the API's order, nothing at all for an empty answer (EnableRule, DeleteRule, ...).
``--output table`` prints one table of the answer's plain members and one table per list
of structures in it (a row per item, a column per member seen), nested values as compact JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from eventpipes.cli.output import print_json

OUTPUTS = ("json", "table")


def print_answer(operation: str, body: Mapping[str, Any], output: str) -> None:
    """Print ``body``, the answer of ``operation``, as ``output`` says."""
    if not body:
        return
    if output == "table":
        print_tables(operation, body)
    else:
        print_json(body)


def print_tables(operation: str, body: Mapping[str, Any]) -> None:
    from rich.console import Console

    console = Console(soft_wrap=False, highlight=False)
    for table in tables(operation, body):
        console.print(table)


def tables(operation: str, body: Mapping[str, Any]) -> list[Any]:
    """The rich tables for ``body``: its plain members as one key/value table, then each list of structures."""
    from rich.table import Table

    plain = {k: v for k, v in body.items() if not _is_rows(v)}
    found = []
    if plain:
        table = Table(title=operation, show_header=True)
        table.add_column("Member")
        table.add_column("Value", overflow="fold")
        for key, value in plain.items():
            table.add_row(key, _cell(value))
        found.append(table)
    for key, value in body.items():
        if _is_rows(value):
            found.append(_rows_table(f"{operation}: {key}", value))
    return found


def _is_rows(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, dict) for item in value)


def _rows_table(title: str, rows: list[dict[str, Any]]) -> Any:
    from rich.table import Table

    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    table = Table(title=title, show_header=True)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(_cell(row.get(column, "")) for column in columns))
    return table


def _cell(value: Any) -> Any:
    """A cell as plain text: rich must not read ``["shop"]`` in a pattern as markup."""
    from rich.text import Text

    return Text(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":")))
