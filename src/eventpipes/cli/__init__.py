"""The `eventpipes` command line: one module per command group."""
