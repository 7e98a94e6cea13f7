"""The three download formats, each written as it is read: CSV and JSON as a stream of chunks, XLSX into a
temporary file (xlsxwriter's constant_memory mode writes each row to disk as it comes) streamed afterwards.

Formula injection: a text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return would be run
by a spreadsheet as a formula (OWASP "CSV injection"); it gets a leading apostrophe in CSV and XLSX. JSON is
data for programs and keeps the values as they are.
"""
from __future__ import annotations

import codecs
import csv
import io
import json
import os
import tempfile
from collections.abc import Iterable, Iterator

import xlsxwriter

from saas.modules.exports.queries import COLUMNS

FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "json": ("application/json", "json"),
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_CELL_MAX = 32767     # Excel's longest text in one cell
FLUSH_ROWS = 500
FILE_CHUNK = 64 * 1024


def neutralise(value: str) -> str:
    """A text a spreadsheet would run as a formula, made plain text by a leading apostrophe."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def cell(value) -> str:
    """A row value as spreadsheet text: notes one per line, booleans yes/no, None empty; neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        value = "\n".join(f"{note['date']} {note['result'] or '-'}: {note['note'] or ''}" for note in value)
    return neutralise(str(value))


def csv_chunks(rows: Iterable[dict]) -> Iterator[bytes]:
    """UTF-8 with a BOM and semicolons, as Dutch Excel opens it by a double click."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    yield codecs.BOM_UTF8 + _drain(buffer)
    for number, row in enumerate(rows, 1):
        writer.writerow([cell(row[name]) for name in COLUMNS])
        if number % FLUSH_ROWS == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return data


def json_chunks(rows: Iterable[dict], meta: dict) -> Iterator[bytes]:
    """One JSON object: `meta` and `rows` (a list written row by row)."""
    head = json.dumps(meta, ensure_ascii=False)[:-1]
    yield (head + (", " if meta else "") + '"rows": [').encode()
    parts, count = [], 0
    for count, row in enumerate(rows, 1):
        parts.append(("," if count > 1 else "") + "\n" + json.dumps(row, ensure_ascii=False))
        if count % FLUSH_ROWS == 0:
            yield "".join(parts).encode()
            parts = []
    yield ("".join(parts) + "\n]}").encode()


def write_xlsx(rows: Iterable[dict], path: str) -> int:
    """Write the rows to an XLSX file at `path`, row by row (constant memory). Returns the rows written."""
    workbook = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False,
                                          "strings_to_urls": False, "strings_to_numbers": False,
                                          "tmpdir": os.path.dirname(path)})
    sheet = workbook.add_worksheet("Database")
    bold = workbook.add_format({"bold": True})
    for column, name in enumerate(COLUMNS):
        sheet.write_string(0, column, name, bold)
    count = 0
    for count, row in enumerate(rows, 1):
        for column, name in enumerate(COLUMNS):
            text = cell(row[name])
            if text:
                sheet.write_string(count, column, text[:XLSX_CELL_MAX])
    sheet.freeze_panes(1, 0)
    workbook.close()
    return count


def xlsx_chunks(rows: Iterable[dict]) -> Iterator[bytes]:
    """The XLSX file, written to a temporary file first, then read out in chunks and removed."""
    handle, path = tempfile.mkstemp(prefix="export-", suffix=".xlsx")
    os.close(handle)
    try:
        write_xlsx(rows, path)
        with open(path, "rb") as stream:
            while chunk := stream.read(FILE_CHUNK):
                yield chunk
    finally:
        os.unlink(path)


def chunks(fmt: str, rows: Iterable[dict], meta: dict) -> Iterator[bytes]:
    if fmt == "csv":
        return csv_chunks(rows)
    if fmt == "xlsx":
        return xlsx_chunks(rows)
    return json_chunks(rows, meta)
