"""Pure alerting logic: state transitions, grouping, silence matching (no Django)."""
