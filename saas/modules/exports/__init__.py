"""A client's database as a download at any time (issue 11 item 4, seed 004 s.4.1-4.3): CSV (Excel's
semicolons and a BOM), XLSX and JSON of the current state: corrections applied (the general company data as
it is now), deleted and erased people absent, call notes included, inactive assignments too.

- `queries.export_rows`: the rows, read in batches by key (constant memory whatever the size);
- `formats`: the three writers, streaming; cells a spreadsheet would run as a formula are neutralised;
- `views` (portal) and `api` (`/api/v1/<tenant>/clients/<id>/export?format=...`): the download, audited.
"""
