"""Reading an uploaded file into a header and rows of text, or refusing it with a reason code.

What Dutch offices really send: CSV from Excel (semicolons, UTF-8 with or without BOM, Windows-1252, quoted
newlines) and XLSX. The format is told by the content, not the name: an XLSX is a zip with a workbook and
no macros (`.xlsm`, `vbaProject.bin`), an old `.xls` or anything binary is refused. A zip whose unpacked size
or ratio is absurd (a zip bomb) is refused from its directory, before anything is unpacked. Formulas are
refused: a value computed by Excel is not the value the client typed, and a formula must never be stored to
run again in someone's spreadsheet. Refusals carry a code and numbers (row, column, limit), never a value.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time

CSV, XLSX = "csv", "xlsx"
DELIMITERS = ";,\t|"
MAX_UNPACKED = 200 * 1024 * 1024     # what an XLSX may unpack to
MAX_RATIO = 100                      # unpacked/packed of one member: real sheets stay far below
MAX_COLUMNS = 100
_CP1252_HOLES = frozenset(b"\x81\x8d\x8f\x90\x9d")
_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[ >/]")


class FileRefused(Exception):
    """The whole file is refused: `code` names why (see `messages.FILE_REASONS`), `detail` holds numbers."""

    def __init__(self, code: str, **detail: int):
        super().__init__(code)
        self.code = code
        self.detail = detail


@dataclass
class Table:
    kind: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)   # data rows, each as long as headers
    row_numbers: list[int] = field(default_factory=list)  # the spreadsheet row number of each data row


def sniff_kind(content: bytes, filename: str = "") -> str:
    """CSV or XLSX by content; everything else refused."""
    name = (filename or "").lower()
    if name.endswith((".xlsm", ".xltm", ".xlam")):
        raise FileRefused("macros")
    if content.startswith(b"PK\x03\x04"):
        return XLSX
    if content.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRefused("old_excel")
    if content[:4] in (b"%PDF", b"\x7fELF") or content.startswith((b"\x1f\x8b", b"MZ", b"Rar!", b"7z\xbc\xaf")):
        raise FileRefused("unsupported_format")
    return CSV


def read_table(content: bytes, filename: str = "", *, max_rows: int = 200_000) -> Table:
    if not content.strip(b" \t\r\n\x00\xef\xbb\xbf"):
        raise FileRefused("empty")
    kind = sniff_kind(content, filename)
    table = read_xlsx(content, max_rows) if kind == XLSX else read_csv(content, max_rows)
    check_headers(table.headers)
    if not table.rows:
        raise FileRefused("header_only")
    return table


# ---- CSV ----------------------------------------------------------------------------------------------

def decode(content: bytes) -> str:
    """UTF-8 (a BOM is dropped), else Windows-1252, as Excel saves "CSV" on a Dutch Windows. UTF-16 and
    binary content are refused: a NUL byte never belongs in a text file."""
    if content.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in content[:65536]:
        raise FileRefused("encoding")
    if content.startswith(b"\xef\xbb\xbf"):
        content = content[3:]
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if _CP1252_HOLES & set(content):
        raise FileRefused("encoding")
    return content.decode("cp1252")


def sniff_delimiter(text: str) -> str:
    """The separator of the header line: the candidate it holds most of (outside quotes); ";" by default."""
    first = text.split("\n", 1)[0]
    counts = {d: _count_outside_quotes(first, d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ";"


def _count_outside_quotes(line: str, char: str) -> int:
    inside, found = False, 0
    for c in line:
        if c == '"':
            inside = not inside
        elif c == char and not inside:
            found += 1
    return found


def read_csv(content: bytes, max_rows: int) -> Table:
    text = decode(content)
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    table = Table(CSV, [])
    try:
        for line, values in enumerate(reader, start=1):   # the row number as a spreadsheet shows it
            if not table.headers:
                if any(v.strip() for v in values):
                    table.headers = [v.strip() for v in values]
                continue
            if not any(v.strip() for v in values):
                continue
            _refuse_formulas(values, line)
            _add_row(table, values, line, max_rows, delimiter)
    except csv.Error:
        raise FileRefused("broken_quotes", row=reader.line_num) from None
    return table


def _refuse_formulas(values: list[str], number: int) -> None:
    """A CSV cell Excel would run as a formula ("=..."): the file is refused, nothing is stored."""
    for column, value in enumerate(values, start=1):
        if value.lstrip().startswith("="):
            raise FileRefused("formulas", row=number, column=column)


def _add_row(table: Table, values: list, number: int, max_rows: int, delimiter: str = "") -> None:
    width = len(table.headers)
    if len(values) > width:
        if any(str(v).strip() for v in values[width:]):
            raise FileRefused("mixed_separators" if delimiter else "column_count", row=number,
                              columns=len(values), expected=width)
        values = values[:width]
    elif len(values) < width and delimiter and len(values) == 1 and any(d in values[0] for d in DELIMITERS):
        raise FileRefused("mixed_separators", row=number, columns=len(values), expected=width)
    if len(table.rows) >= max_rows:
        raise FileRefused("too_many_rows", limit=max_rows)
    table.rows.append(list(values) + [""] * (width - len(values)))
    table.row_numbers.append(number)


# ---- XLSX ---------------------------------------------------------------------------------------------

def check_zip(content: bytes) -> None:
    """An XLSX workbook without macros and without a bomb inside, judged from the zip's directory."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError):
        raise FileRefused("unsupported_format") from None
    names = {m.filename for m in members}
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        raise FileRefused("macros")
    if "xl/workbook.xml" not in names:
        raise FileRefused("unsupported_format")
    if b"macroEnabled" in archive.read("[Content_Types].xml") if "[Content_Types].xml" in names else False:
        raise FileRefused("macros")
    total = sum(m.file_size for m in members)
    if total > MAX_UNPACKED or any(m.compress_size and m.file_size / m.compress_size > MAX_RATIO
                                   and m.file_size > 1024 * 1024 for m in members):
        raise FileRefused("zip_bomb")
    for member in members:
        if member.filename.startswith("xl/worksheets/") and member.filename.endswith(".xml"):
            with archive.open(member) as sheet:
                if _has_formula(sheet):
                    raise FileRefused("formulas")


def _has_formula(stream) -> bool:
    tail = b""
    while chunk := stream.read(1024 * 1024):
        if _FORMULA_TAG.search(tail + chunk):
            return True
        tail = chunk[-8:]
    return False


def read_xlsx(content: bytes, max_rows: int) -> Table:
    from python_calamine import CalamineWorkbook

    check_zip(content)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(content))
        sheet = workbook.get_sheet_by_index(0)
        rows = sheet.iter_rows()
    except Exception:       # calamine raises its own errors for a damaged workbook
        raise FileRefused("unsupported_format") from None
    table = Table(XLSX, [])
    for number, values in enumerate(rows, start=1):
        texts = [cell_text(v) for v in values[:MAX_COLUMNS + 1]]
        if not any(texts):
            continue
        if not table.headers:
            while texts and not texts[-1]:
                texts.pop()
            table.headers = [t.strip() for t in texts]
            continue
        _add_row(table, texts, number, max_rows)
    if not table.headers:
        raise FileRefused("empty")
    return table


def cell_text(value) -> str:
    """A cell as text the way the client sees it: 612345678.0 -> "612345678", a date -> "2026-03-01"."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


# ---- headers ------------------------------------------------------------------------------------------

def normalise_header(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", (text or "").lower().replace("é", "e").replace("ë", "e"))


def check_headers(headers: list[str]) -> None:
    if not any(headers):
        raise FileRefused("empty")
    if len(headers) > MAX_COLUMNS:
        raise FileRefused("too_many_columns", limit=MAX_COLUMNS)
    seen: dict[str, int] = {}
    for number, header in enumerate(headers, start=1):
        key = normalise_header(header)
        if not key:
            continue
        if key in seen:
            raise FileRefused("duplicate_headers", column=number, first=seen[key])
        seen[key] = number
