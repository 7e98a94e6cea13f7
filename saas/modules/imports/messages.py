"""What each reason code says to people (English in code, Dutch in the catalogue). Codes and numbers are
stored; the words are made when a page or a report is shown, in the reader's language."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

FILE_REASONS = {
    "empty": _l("The file is empty."),
    "header_only": _l("The file has a header row but no data rows."),
    "too_large": _l("The file is larger than %(limit_mb)s MB; split it into smaller files."),
    "too_many_rows": _l("The file has more than %(limit)s rows; split it into smaller files."),
    "too_many_columns": _l("The file has more than %(limit)s columns."),
    "macros": _l("Workbooks with macros (.xlsm) are not accepted: save the sheet as .xlsx or CSV."),
    "old_excel": _l("Old Excel files (.xls) are not accepted: save the sheet as .xlsx or CSV."),
    "unsupported_format": _l("This is not a CSV or XLSX file."),
    "zip_bomb": _l("This XLSX file unpacks to far more than a sheet can hold, so it is not opened."),
    "formulas": _l("The file contains formulas (row %(row)s, column %(column)s): save it with values only."),
    "encoding": _l("The file is not text in UTF-8 or Windows-1252 (for instance UTF-16 or a binary file): "
                   "save it from Excel as \"CSV UTF-8\"."),
    "broken_quotes": _l("A quote is not closed (near line %(row)s): the file cannot be read reliably."),
    "mixed_separators": _l("Line %(row)s is split by another separator than the header (%(columns)s columns "
                           "instead of %(expected)s): use one separator throughout."),
    "column_count": _l("Row %(row)s has %(columns)s columns where the header has %(expected)s."),
    "duplicate_headers": _l("Columns %(first)s and %(column)s have the same name: give every column its own."),
    "no_identity": _l("No column holds an e-mail address, phone number or last name: map at least one of them."),
    "field_twice": _l("A field is chosen for two columns."),
    "unknown_field": _l("The mapping names an unknown field or column."),
    "threshold": _l("%(refused)s of %(rows)s rows were refused, more than the %(limit)s%% allowed: nothing "
                    "was imported. Correct the rows in the report and upload the file again."),
    "category_not_covered": _l("No retention rule of this organisation covers prospects, so nobody can be "
                               "imported. Ask an administrator to add a rule."),
    "undo_closed": _l("This import can no longer be undone (only a finished import, within a day)."),
    "cancelled": _l("The import was cancelled: nothing was imported."),
    "failed": _l("The import stopped with an error: nothing was imported."),
}

ROW_REASONS = {
    "email_invalid": _l("not a valid e-mail address"),
    "phone_invalid": _l("not a valid phone number"),
    "phone_scientific": _l("phone number shown as 6,1E+08 by Excel: the digits are lost"),
    "kvk_invalid": _l("a KvK number has 8 digits"),
    "kvk_scientific": _l("KvK number shown as 1,2E+07 by Excel: the digits are lost"),
    "postcode_invalid": _l("not a Dutch postcode (1234 AB)"),
    "left_invalid": _l("\"left the company\" must be yes or no"),
    "too_long": _l("longer than 200 characters"),
    "no_identity": _l("no e-mail address, phone number or last name"),
    "duplicate": _l("the same person as an earlier row of this file"),
    "suppressed": _l("this person asked not to be contacted again: not imported, nothing kept"),
    "left_company": _l("has left the company: not imported, and removed where known"),
    "company_ceased": _l("the company no longer exists: not imported"),
}

FIELD_LABELS = {
    "given_name": _l("First name"), "name_prefix": _l("Name prefix"), "family_name": _l("Last name"),
    "email": _l("E-mail"), "phone": _l("Phone"), "job_title": _l("Job title"), "company_name": _l("Company"),
    "kvk_number": _l("KvK number"), "postcode": _l("Postcode"), "city": _l("City"),
    "left_company": _l("Left the company"),
}

COUNT_LABELS = {
    "rows_read": _l("Rows read"), "created": _l("New people"), "matched": _l("Matched with known people"),
    "corrected": _l("Matched and corrected"), "duplicates": _l("Duplicates within the file"),
    "refused": _l("Refused"), "suppressed": _l("On the suppression list (not imported, nothing kept)"),
    "left_company": _l("Left the company (removed)"), "companies_created": _l("New companies"),
    "companies_matched": _l("Companies matched"), "companies_corrected": _l("Companies corrected"),
}


def file_message(code: str | None, detail: dict | None = None) -> str:
    if not code:
        return ""
    text = FILE_REASONS.get(code, FILE_REASONS["failed"])
    try:
        return str(text) % (detail or {}) if "%(" in str(text) else str(text)
    except (KeyError, TypeError, ValueError):
        return str(text).split("(")[0]


def row_message(code: str) -> str:
    return str(ROW_REASONS.get(code, code))
