"""Every relative link in the README and the reference pages points to a file that exists.

The README is short and sends readers into docs/; a page renamed or never written must
fail the suite, not leave a dead link. External links (http:, https:, mailto:) are not
followed. Links inside code spans and fenced code blocks are not links.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: ``[text](target)`` and ``[text](target "title")``; images (``![alt](src)``) too.
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
#: ``[label]: target`` reference definitions.
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # http:, https:, mailto:, ...


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
            ROOT / "topologies" / "README.md", ROOT / "benchmarks" / "README.md"]


def relative_links(markdown: str) -> list[str]:
    """Targets of the relative links in ``markdown``, without their ``#anchor``, in order."""
    text = CODE_SPAN.sub("", FENCE.sub("", markdown))
    targets = INLINE_LINK.findall(text) + REFERENCE_LINK.findall(text)
    paths = [target.split("#", 1)[0] for target in targets if not EXTERNAL.match(target)]
    return [path for path in paths if path]  # "#anchor" alone points into the same page


def broken_links(page: Path) -> list[str]:
    return [link for link in relative_links(page.read_text(encoding="utf-8"))
            if not (page.parent / link).exists()]


def test_the_pages_the_readme_promises_exist() -> None:
    names = {"topologies", "put-events", "pipes", "archives-and-replays", "schema-registry", "configuration",
             "local-broker", "security", "differences", "development"}
    assert {f"{name}.md" for name in names} <= {page.name for page in pages()}
    readme_links = set(relative_links((ROOT / "README.md").read_text(encoding="utf-8")))
    assert {f"docs/{name}.md" for name in names} <= readme_links


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_to_a_file_that_exists(page: Path) -> None:
    assert page.is_file()
    assert broken_links(page) == []


def test_links_are_found_and_a_missing_target_is_reported(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "there.md").write_text("# there\n")
    page = tmp_path / "README.md"
    page.write_text(
        "See [there](docs/there.md#a-section), [gone](docs/gone.md), ![img](docs/missing.png),\n"
        "[web](https://example.com/x.md), [self](#quick-start), `[code](docs/nope.md)`.\n"
        "```\n[fenced](docs/fenced.md)\n```\n"
        "[ref]: docs/also-gone.md\n"
    )
    assert relative_links(page.read_text()) == ["docs/there.md", "docs/gone.md", "docs/missing.png", "docs/also-gone.md"]
    assert broken_links(page) == ["docs/gone.md", "docs/missing.png", "docs/also-gone.md"]
