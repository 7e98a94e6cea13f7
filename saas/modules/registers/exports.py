"""The controller register as a table (one header, one row per line) and as CSV and XLSX files.

CSV: semicolon-separated with a byte order mark, so Excel with a Dutch locale opens it in columns with its
accents intact. XLSX: openpyxl, one sheet, the header row frozen.
"""
from __future__ import annotations

import csv
import io

from openpyxl import Workbook

CSV_BOM = "\ufeff"


def to_csv(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return (CSV_BOM + out.getvalue()).encode("utf-8")


def to_xlsx(title: str, header: list[str], rows: list[list[str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]  # Excel's limit for a sheet name
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
