"""One family of targets for rules and pipes: a table of kinds, two shapes, two adapters.

``kinds`` is the table (YAML key, pipe URI prefix, ARN form, class); ``base`` holds what
every kind promises; ``adapters`` call a target one event at a time (rules) or one batch at
a time (pipes); ``build`` makes a target from a rule's or a pipe's configuration. The kinds
themselves: ``topic``, ``bus``, ``http`` (API destinations and plain endpoints), ``function``.

This module imports nothing heavy: the pure core reads ``kinds`` and ``results``.
"""
