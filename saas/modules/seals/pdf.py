"""HTML to PDF/A with WeasyPrint: the documents that get sealed.

`html_to_pdf(html)` gives PDF/A-2b, or PDF/A-3b when files are attached (PDF/A-2 allows only PDF/A
files as attachments; PDF/A-3 allows any, such as a JSON audit trail). Both allow the incremental
update a PAdES signature adds, so the sealed file keeps its PDF/A claim (see `_finish` for the one
thing that needs care).

- The print stylesheet `static/print.css` always applies: A4, "pagina X van Y" ("page X of Y" for
  `<html lang="en">`), the first `<h1>` as running title, the tenant's name as running header, and an
  element with `data-reference="..."` as a reference in the footer.
- Nothing is fetched from the network: only `data:` URLs and files in this module's `static/` folder
  load; anything else stops the rendering with `RenderError` (a legal document must not silently miss
  a part). Fonts are the machine's, embedded (subset) in the PDF.
- Deterministic: the same HTML, attachments, header and `created` time give the same bytes.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

import pydyf
from weasyprint import CSS, HTML, Attachment
from weasyprint.urls import FatalURLFetchingError, URLFetcher, path2url

from saas.core import clock

STATIC = Path(__file__).resolve().parent / "static"
PRINT_CSS = STATIC / "print.css"
PDFA = "pdf/a-2b"
PDFA_WITH_ATTACHMENTS = "pdf/a-3b"


class RenderError(ValueError):
    """The HTML cannot become a PDF as it is (it refers to something outside the allowed places)."""


@dataclass(frozen=True)
class PdfAttachment:
    """A file embedded in the PDF (PDF/A-3 "associated file")."""

    name: str
    data: bytes
    description: str = ""
    relationship: str = "Supplement"   # Source | Data | Alternative | Supplement | Unspecified


class _LocalOnlyFetcher(URLFetcher):
    """Loads `data:` URLs and files under `static/`; refuses everything else, fatally."""

    def __init__(self):
        super().__init__(allowed_protocols=("data", "file"), allow_redirects=False, fail_on_errors=True)

    def fetch(self, url, headers=None):
        if url.startswith("file:"):
            path = Path(_file_path(url)).resolve()
            if not path.is_relative_to(STATIC):
                raise RenderError("only files of the seals module's static folder may be used")
        elif not url.startswith("data:"):
            raise RenderError("remote resources are not loaded into documents")
        return super().fetch(url, headers)


def _file_path(url: str) -> str:
    from urllib.request import url2pathname

    return url2pathname(url.split("?")[0].split("#")[0].removeprefix("file:").removeprefix("//"))


def _css_string(text: str) -> str:
    """A CSS string literal: quotes, backslashes and line breaks escaped."""
    escaped = "".join(f"\\{ord(ch):x} " if ch in '"\\' or ord(ch) < 32 or ord(ch) == 127 else ch for ch in text)
    return f'"{escaped}"'


def _header_css(tenant_name: str) -> str:
    return (
        "@page { @top-left { content: " + _css_string(tenant_name) + "; "
        'font: 8pt "DejaVu Sans", "Liberation Sans", sans-serif; color: #555; } }'
    )


def _current_tenant_name() -> str:
    from saas.core.tenancy import current_tenant_id
    from saas.extensions import db
    from saas.modules.tenants.models import Tenant

    tenant_id = current_tenant_id()
    tenant = db.session.get(Tenant, tenant_id) if tenant_id is not None else None
    return tenant.name if tenant is not None else ""


def _w3c(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _finish(document, pdf) -> None:
    """PDF/A needs every document-information entry to equal its XMP counterpart. pyHanko, when it
    seals, rewrites the XMP producer to "pyHanko x.y" but appends to an existing info /Producer
    ("WeasyPrint z; pyHanko x.y"): the two would differ. With no info /Producer here (XMP still
    names WeasyPrint), pyHanko writes the same value to both.
    Also: WeasyPrint lists each attachment twice in the catalog's /AF; once is enough."""
    pdf.info.pop("Producer", None)
    if "AF" in pdf.catalog:
        pdf.catalog["AF"] = pydyf.Array(dict.fromkeys(pdf.catalog["AF"]))


def _weasy_attachment(item: PdfAttachment, created: datetime, fetcher) -> Attachment:
    return Attachment(string=item.data, name=item.name, description=item.description or None,
                      created=created, modified=created, relationship=item.relationship, url_fetcher=fetcher)


def html_to_pdf(html: str, *, attachments: Iterable[PdfAttachment | tuple] = (), tenant_name: str | None = None,
                created: datetime | None = None) -> bytes:
    """Render HTML to PDF/A bytes.

    attachments: `PdfAttachment`s or `(name, data[, description])` tuples; any makes it PDF/A-3b.
    tenant_name: the running header (default: the current tenant's name, if a tenant is set).
    created: the creation time in the metadata (default: `clock.now()`).
    """
    created = created or clock.now()
    items = [a if isinstance(a, PdfAttachment) else PdfAttachment(*a) for a in attachments]
    name = _current_tenant_name() if tenant_name is None else tenant_name
    fetcher = _LocalOnlyFetcher()
    stylesheets = [CSS(filename=str(PRINT_CSS), url_fetcher=fetcher)]
    if name:
        stylesheets.append(CSS(string=_header_css(name), url_fetcher=fetcher))
    try:
        document = HTML(string=html, base_url=path2url(str(STATIC)) + "/", url_fetcher=fetcher).render(
            stylesheets=stylesheets)
        document.metadata.created = _w3c(created)
        document.metadata.modified = None   # pyHanko sets the modification time when it seals
        return document.write_pdf(
            pdf_variant=PDFA_WITH_ATTACHMENTS if items else PDFA,
            attachments=[_weasy_attachment(item, created, fetcher) for item in items],
            finisher=_finish,
        )
    except FatalURLFetchingError as exc:
        raise RenderError(str(exc.__cause__ or exc)) from None
