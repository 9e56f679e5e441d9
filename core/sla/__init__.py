"""Service-level time rules: business calendars, durations and the SLA policy."""
