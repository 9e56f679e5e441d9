"""Reports of the maintenance contract (000 §4), one module per concern.

- `kpi`: the four KPI formulas and their deductions over plain records (pure).
- `periods`: reporting periods: days, months, quarters, half-years, the report deadline (pure).
- `scorecard`: the quarterly score, the payment it earns and its warnings (pure).
- `counts`: the SQL that counts: KPI records and aggregates, today's and a month's tickets.
- `sites`: the site a report is scoped to.
- `runs`: posted reports (`ReportRun`), created once with the managers' messages.
- `monthly`: the monthly summary, computed and posted.
- `quarterly`: the quarterly scorecard read from the database, and posted.
- `false_reports`: false reports (虚报) recorded and counted.
"""
