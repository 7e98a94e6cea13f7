"""Make the small files of the bad-input corpus (`python tests/data/imports/make_corpus.py`). The big ones
(100 MB, a zip bomb, a sheet of 1,048,576 empty rows) are made at test time in tmp_path by the functions
below, never committed. `EXPECTED` says what each file must give: the reason code of its refusal."""
from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
HEADER = "Voornaam;Achternaam;E-mail;Telefoon;Bedrijf;KvK;Postcode;Functie"

# file name -> the reason code it must give (at upload, or when its suggested mapping is started)
EXPECTED = {
    "empty.csv": "empty",
    "blank_lines.csv": "empty",
    "header_only.csv": "header_only",
    "unknown_columns.csv": "no_identity",
    "duplicate_headers.csv": "duplicate_headers",
    "utf16.csv": "encoding",
    "binary_garbage.csv": "encoding",
    "broken_quotes.csv": "broken_quotes",
    "mixed_separators.csv": "mixed_separators",
    "formulas.csv": "formulas",
    "formulas.xlsx": "formulas",
    "macros.xlsm": "macros",
    "macros_renamed.xlsx": "macros",
    "old_excel.xls": "old_excel",
    "pdf_renamed.csv": "unsupported_format",
    "scientific_phones.csv": "threshold",
}


def _sheet_xml(rows, formulas: bool = False, date_cells=()) -> bytes:
    out = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
           '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>']
    for r, row in enumerate(rows, start=1):
        out.append(f'<row r="{r}">')
        for c, value in enumerate(row):
            ref = f"{chr(65 + c)}{r}"
            if value is None:
                continue
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                style = ' s="1"' if (r, c) in date_cells else ""
                out.append(f'<c r="{ref}"{style}><v>{value}</v></c>')
            elif formulas and str(value).startswith("="):
                out.append(f'<c r="{ref}"><f>{escape(str(value)[1:])}</f><v>3</v></c>')
            else:
                out.append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>')
        out.append("</row>")
    out.append("</sheetData></worksheet>")
    return "".join(out).encode()


def xlsx_bytes(rows=None, *, formulas: bool = False, macros: bool = False, date_cells=(), sheet_xml: bytes | None = None,
               compression=zipfile.ZIP_DEFLATED) -> bytes:
    """A minimal workbook, written by hand so the corpus needs no spreadsheet writer."""
    main = "application/vnd.ms-excel.sheet.macroEnabled.main+xml" if macros else \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
    files = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{main}"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '</Types>'),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            '</Relationships>'),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
            '<sheet name="Blad1" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
            '</Relationships>'),
        "xl/styles.xml": (
            '<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            '<fonts count="1"><font/></fonts><fills count="1"><fill/></fills><borders count="1"><border/></borders>'
            '<cellStyleXfs count="1"><xf/></cellStyleXfs>'
            '<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/></cellXfs></styleSheet>'),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        def put(name, data):   # a fixed time stamp: the same file every time it is made
            archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), data, compress_type=compression)

        for name, text in files.items():
            put(name, text)
        put("xl/worksheets/sheet1.xml", sheet_xml if sheet_xml is not None else _sheet_xml(rows or [], formulas, date_cells))
        if macros:
            put("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0fake macro storage")
    return buffer.getvalue()


def zip_bomb(path: Path) -> None:
    """An XLSX whose sheet unpacks to 300 MB of nothing (a few hundred KB packed)."""
    head = b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    filler = b" " * (300 * 1024 * 1024)
    path.write_bytes(xlsx_bytes(sheet_xml=head + filler + b"</sheetData></worksheet>"))


def empty_rows_sheet(path: Path, rows: int = 1_048_576) -> None:
    """A header and then every row Excel allows, all empty."""
    body = ['<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            '<dimension ref="A1:B1048576"/><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>E-mail</t></is></c>'
            '<c r="B1" t="inlineStr"><is><t>Achternaam</t></is></c></row>']
    body.extend(f'<row r="{r}"/>' for r in range(2, rows + 1))
    body.append("</sheetData></worksheet>")
    path.write_bytes(xlsx_bytes(sheet_xml="".join(body).encode()))


def oversize(path: Path, size: int = 100 * 1024 * 1024) -> None:
    """A 100 MB CSV (sparse: it takes no disk until read, and it must not be read)."""
    with path.open("wb") as fh:
        fh.write((HEADER + "\r\n").encode())
        fh.truncate(size)


def excel_numbers_rows():
    """As Excel stores them: phone and KvK as numbers (leading zero gone), a date as a serial number."""
    return [["Voornaam", "Achternaam", "E-mail", "Telefoon", "KvK", "Postcode", "Uit dienst"],
            ["Jan", "Jansen", "jan@jansen.example", 612345678, 1234567, "1234 ab", None],
            ["Piet", "Pieters", "piet@pieters.example", 201234567.0, 87654321, "2345CD", None],
            ["Els", "Vos", "els@vos.example", 31612345679, 11223344, "3456 EF", 46053]]


def small_files() -> dict[str, bytes]:
    rows = [["Jan", "Jansen", "jan@example.nl", "0612345678", "Jansen BV", "12345678", "1234 AB", "Directeur"]]
    good = HEADER + "\r\n" + "\r\n".join(";".join(r) for r in rows) + "\r\n"
    return {
        "empty.csv": b"",
        "blank_lines.csv": b"\r\n\r\n  \r\n",
        "header_only.csv": (HEADER + "\r\n").encode(),
        "unknown_columns.csv": "Kleur;Smaak;Getal\r\nrood;zoet;3\r\nblauw;zuur;4\r\n".encode(),
        "duplicate_headers.csv": "E-mail;Achternaam;Email\r\na@b.nl;Jansen;c@d.nl\r\n".encode(),
        "utf16.csv": good.encode("utf-16"),
        "binary_garbage.csv": b"\x00\x01\x02\x03garbage\x00\xff" * 50,
        "broken_quotes.csv": (HEADER + '\r\n"Jan;Jansen;jan@example.nl;0612345678;Jansen BV;12345678;1234 AB;Directeur\r\n').encode(),
        "mixed_separators.csv": (HEADER + "\r\nJan,Jansen,jan@example.nl,0612345678,Jansen BV,12345678,1234 AB,Directeur\r\n").encode(),
        "formulas.csv": (HEADER + "\r\nJan;Jansen;jan@example.nl;=HYPERLINK(\"http://x\");Jansen BV;12345678;1234 AB;Directeur\r\n").encode(),
        "formulas.xlsx": xlsx_bytes([["E-mail", "Achternaam", "Getal"], ["a@b.nl", "Jansen", "=1+2"]], formulas=True),
        "macros.xlsm": xlsx_bytes([["E-mail"], ["a@b.nl"]], macros=True),
        "macros_renamed.xlsx": xlsx_bytes([["E-mail"], ["a@b.nl"]], macros=True),
        "old_excel.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504,
        "pdf_renamed.csv": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
        "scientific_phones.csv": (HEADER + "\r\n" + "\r\n".join(
            f"Naam{i};Achter{i};;6,12346E+08;;;;" for i in range(5)) + "\r\n").encode("cp1252"),
        # Good files of the corpus: what Dutch offices send.
        "good_excel_semicolon_cp1252.csv": (HEADER + "\r\nJosé;Müller;jose@example.nl;06-12345678;Café \"De Hoek\" B.V.;"
                                            "12345678;1234 AB;\"Hoofd\r\nverkoop\"\r\n").encode("cp1252"),
        "good_utf8_bom.csv": ("\ufeff" + HEADER.replace(";", ",") + "\r\nZoë,de Vries,zoe@example.nl,+31 20 123 4567,"
                              "Jansen BV,12345678,1234AB,Inkoper\r\n").encode("utf-8"),
        "good_excel_numbers.xlsx": xlsx_bytes(excel_numbers_rows(), date_cells={(4, 6)}),
    }


def main(target: Path = HERE) -> None:
    for name, content in small_files().items():
        (target / name).write_bytes(content)
    print(f"{len(small_files())} files in {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
