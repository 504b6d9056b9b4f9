"""Event buses: PutEvents onto a bus topic; rules, targets and routing build on it."""
