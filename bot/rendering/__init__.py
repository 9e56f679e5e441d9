"""Reports for people: the message text, a chart (PNG), and spreadsheet files (XLSX, CSV).

Everything here renders figures the core computed (`core.reports.monthly.MonthlySummary`,
`core.reports.scorecard.Scorecard`) in one reader's language: each function takes the
figures and a translator and returns text or bytes; nothing is counted or read here.

- `text`: the monthly summary and quarterly scorecard messages (HTML).
- `chart`: the monthly chart (PNG).
- `xlsx`: the workbooks that go with the messages.
- `csv_rows`: the summaries as CSV, one row per figure (the command line's `--format csv`).
- `wording`: names, titles, rates, statuses, warnings and file names every output shares.

The monthly message goes out with a chart (tickets by service type, level and site, and
the four KPIs against their targets) and one XLSX workbook with a sheet each for the
KPIs, service types, levels and sites.
"""
