"""Wildcard values: their syntax, their matching, and EventBridge's complexity limit.

``*`` stands for any run of characters, ``\\*`` for a star and ``\\\\`` for a
backslash; any other backslash, and two stars in a row, are errors. EventBridge
positions in its messages count UTF-8 bytes of the value *with* its opening quote,
so ``a**`` fails "at pos 2"; we report the same numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

#: The most NFA states one wildcard may keep alive at once. EventBridge rejects
#: ``*:*:*:*:*:event-bus/*`` (13 by this measure) as "Rule is too complex" and
#: accepts ``/Users/*/dir/dir/dir/dir/dir/doc.txt`` (8); the recorded cases only
#: bound the limit, 10 sits between them and still allows four stars around
#: single separators (``*:*:*:*:*`` is 10).
MAX_ACTIVE_STATES: Final = 10
#: Stop the subset construction after this many subsets and call the rule complex:
#: a pattern that needs more is far past anything EventBridge accepts.
MAX_SUBSETS: Final = 20_000

TOO_COMPLEX: Final = (
    "Rule is too complex - try using fewer wildcard characters or fewer repeating "
    "character sequences after a wildcard character"
)

_STAR: Final = None  # token for "any run of characters"


class WildcardError(ValueError):
    """A wildcard value EventBridge refuses; the message is EventBridge's reason."""


@dataclass(frozen=True, slots=True)
class ParsedWildcard:
    """A valid wildcard value, ready to match."""

    tokens: tuple[str | None, ...]
    """Characters, with None for each unescaped star."""

    @property
    def literal_prefix(self) -> str:
        """The characters before the first star (all of them if there is none)."""
        out = []
        for token in self.tokens:
            if token is None:
                break
            out.append(token)
        return "".join(out)

    def regex(self) -> re.Pattern[str]:
        """A regular expression that matches exactly the strings this wildcard does."""
        parts = [".*" if token is None else re.escape(token) for token in self.tokens]
        return re.compile("".join(parts), re.DOTALL)


def parse_wildcard(text: str) -> ParsedWildcard:
    """Read a wildcard value.

    Raises:
        WildcardError: two stars in a row, or a backslash before anything but ``*`` or ``\\``.
    """
    tokens: list[str | None] = []
    pos = 1  # EventBridge counts from the opening quote it adds
    i = 0
    while i < len(text):
        char = text[i]
        if char == "*":
            if i + 1 < len(text) and text[i + 1] == "*":
                raise WildcardError(f"Consecutive wildcard characters at pos {pos}")
            tokens.append(_STAR)
        elif char == "\\":
            if i + 1 < len(text) and text[i + 1] in "*\\":
                tokens.append(text[i + 1])
                pos += 1
                i += 1
            else:
                raise WildcardError(f"Invalid escape character at pos {pos}")
        else:
            tokens.append(char)
        pos += len(char.encode("utf-8"))
        i += 1
    return ParsedWildcard(tuple(tokens))


def _closure(states: set[int], tokens: tuple[str | None, ...]) -> frozenset[int]:
    # A star may match nothing, so being at a star also means being just past it.
    pending = list(states)
    while pending:
        state = pending.pop()
        if state < len(tokens) and tokens[state] is None and state + 1 not in states:
            states.add(state + 1)
            pending.append(state + 1)
    return frozenset(states)


def _step(states: frozenset[int], tokens: tuple[str | None, ...], char: str) -> frozenset[int]:
    after: set[int] = set()
    for state in states:
        if state < len(tokens):
            token = tokens[state]
            if token is None:
                after.add(state)
            elif token == char:
                after.add(state + 1)
    return _closure(after, tokens)


def active_states(parsed: ParsedWildcard, *, cap: int = MAX_ACTIVE_STATES) -> int:
    """The most states the wildcard's automaton can be in at once, for any input.

    This is the measure behind event-ruler's complexity check: how many partial
    matches of one rule a worst-case value keeps alive. Stops early at ``cap + 1``.
    """
    tokens = parsed.tokens
    alphabet = {token for token in tokens if token is not None} | {"\0"}
    start = _closure({0}, tokens)
    seen = {start}
    pending = [start]
    worst = len(start)
    while pending:
        current = pending.pop()
        for char in alphabet:
            after = _step(current, tokens, char)
            if after and after not in seen:
                worst = max(worst, len(after))
                if worst > cap or len(seen) >= MAX_SUBSETS:
                    return cap + 1
                seen.add(after)
                pending.append(after)
    return worst


def check_complexity(parsed: ParsedWildcard) -> None:
    """Raise :class:`WildcardError` ("Rule is too complex ...") past EventBridge's limit."""
    if parsed.tokens.count(_STAR) > 1 and active_states(parsed) > MAX_ACTIVE_STATES:
        raise WildcardError(TOO_COMPLEX)
