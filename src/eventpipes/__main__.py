"""``python -m eventpipes``: the same as the ``eventpipes`` command."""

from eventpipes.cli.main import main

main()
