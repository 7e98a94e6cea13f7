"""The controller register as a table (one header, one row per line) and as CSV and XLSX files.

CSV: semicolon-separated with a byte order mark, so Excel with a Dutch locale opens it in columns with its
accents intact. XLSX: openpyxl, one sheet, the header row frozen.
"""
from __future__ import annotations

import csv
import io

from openpyxl import Workbook

CSV_BOM = "\ufeff"
# A cell starting with one of these is a formula to a spreadsheet (CSV injection): a counterparty's name or an
# agreement field is typed by people, so such a cell gets a leading apostrophe in CSV and stays text in XLSX.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_safe(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def to_csv(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([_csv_safe(str(cell)) for cell in row] for row in rows)
    return (CSV_BOM + out.getvalue()).encode("utf-8")


def to_xlsx(title: str, header: list[str], rows: list[list[str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]  # Excel's limit for a sheet name
    sheet.append(header)
    for row in rows:
        sheet.append(row)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"   # openpyxl would store it as a formula
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
