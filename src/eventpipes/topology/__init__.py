"""Topologies: the YAML model of buses, rules and targets, loaded and validated with locations."""

from eventpipes.topology.errors import Problem, TopologyError
from eventpipes.topology.load import load_file, load_text
from eventpipes.topology.model import Rule, Target, Topology

__all__ = ["Problem", "Rule", "Target", "Topology", "TopologyError", "load_file", "load_text"]
