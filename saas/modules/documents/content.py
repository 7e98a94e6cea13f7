"""What a file is, read from its content (libmagic through python-magic), never from its name or the
browser's claim. A PDF with JavaScript or other active content is refused."""
from __future__ import annotations

import io
import re
import zipfile

import magic

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# PDF names that start something on opening, or carry scripts or embedded files.
_ACTIVE_PDF = re.compile(rb"/(JavaScript|JS|OpenAction|AA|Launch|EmbeddedFile|RichMedia|XFA)\b")


def sniff(content: bytes) -> str:
    """The MIME type libmagic reads from the content."""
    found = magic.from_buffer(content[:65536] if not content.startswith(b"PK") else content, mime=True)
    if found in ("application/zip", "application/octet-stream") and _is_docx(content):
        return DOCX
    return found


def _is_docx(content: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile:
        return False
    return "[Content_Types].xml" in names and "word/document.xml" in names and not any(
        name.lower().endswith(("vbaproject.bin", ".bin")) for name in names)


def has_active_content(content: bytes, content_type: str) -> bool:
    if content_type == "application/pdf":
        return bool(_ACTIVE_PDF.search(content))
    if content_type == DOCX:
        return not _is_docx(content)   # a macro project or embedded binaries
    return False
