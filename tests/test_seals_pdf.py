"""`html_to_pdf`: PDF/A from HTML, the print stylesheet, no network, deterministic output."""
import io
import re
import subprocess
from datetime import datetime, timezone

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from saas.modules.seals.pdf import PdfAttachment, RenderError, html_to_pdf

CREATED = datetime(2026, 3, 9, 10, 30, 0, tzinfo=timezone.utc)


def agreement_html(lang="nl", paragraphs=120) -> str:
    body = "".join(f"<p>Artikel {n}. De verwerker verwerkt de persoonsgegevens uitsluitend in opdracht "
                   f"van de verwerkingsverantwoordelijke, ook wat betreft doorgifte (ë, ï, ‘—’).</p>"
                   for n in range(paragraphs))
    return (f'<html lang="{lang}"><head><title>Verwerkersovereenkomst</title></head><body>'
            f'<h1>Verwerkersovereenkomst VO-2026-0007</h1><p data-reference="VO-2026-0007"></p>{body}</body></html>')


def xmp_of(pdf: bytes) -> str:
    reader = PdfFileReader(io.BytesIO(pdf))
    return reader.root["/Metadata"].get_object().data.decode()


def pdftotext(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def test_renders_pdf_a_2b_with_the_conformance_claim_in_the_xmp():
    pdf = html_to_pdf(agreement_html(), tenant_name="Zestgroup B.V.", created=CREATED)
    assert pdf.startswith(b"%PDF-1.7")
    xmp = xmp_of(pdf)
    assert re.search(r'pdfaid:part="2"', xmp) and re.search(r'pdfaid:conformance="B"', xmp)
    reader = PdfFileReader(io.BytesIO(pdf))
    assert reader.root["/OutputIntents"][0]["/S"] == "/GTS_PDFA1"
    info = reader.trailer["/Info"]
    assert "/Producer" not in info  # see pdf._finish: pyHanko keeps info and XMP producer equal then
    assert info["/CreationDate"] == "D:20260309103000Z" and "<xmp:CreateDate>2026-03-09T10:30:00Z" in xmp


def test_attachments_make_it_pdf_a_3b_with_an_associated_file():
    pdf = html_to_pdf(agreement_html(paragraphs=3), tenant_name="Zest", created=CREATED,
                      attachments=[PdfAttachment("audit.json", b'{"events": []}', "audit trail", "Data")])
    assert 'pdfaid:part="3"' in xmp_of(pdf)
    reader = PdfFileReader(io.BytesIO(pdf))
    associated = reader.root["/AF"]
    assert len(associated) == 1
    spec = associated[0].get_object()
    assert spec["/F"] == "audit.json" and spec["/AFRelationship"] == "/Data"
    assert spec["/EF"]["/F"].get_object().data == b'{"events": []}'


def test_every_font_is_embedded():
    pdf = html_to_pdf(agreement_html(paragraphs=5), tenant_name="Zest", created=CREATED)
    fonts = subprocess.run(["pdffonts", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    rows = fonts.splitlines()[2:]
    assert rows and all(re.search(r"\byes\s+yes\b", row) for row in rows), fonts


def test_same_input_same_bytes_and_the_time_comes_from_the_caller():
    html = agreement_html(paragraphs=10)
    first = html_to_pdf(html, tenant_name="Zest", created=CREATED)
    assert html_to_pdf(html, tenant_name="Zest", created=CREATED) == first
    assert html_to_pdf(html, tenant_name="Zest", created=datetime(2026, 3, 10, tzinfo=timezone.utc)) != first


def test_a4_pages_with_tenant_header_title_reference_and_dutch_page_numbers():
    pdf = html_to_pdf(agreement_html(), tenant_name='Zest "Groep" \\ B.V.', created=CREATED)
    text = pdftotext(pdf)
    pages = text.split("\f")[:-1]
    assert len(pages) >= 3
    for number, page in enumerate(pages, start=1):
        assert 'Zest "Groep" \\ B.V.' in page and "Verwerkersovereenkomst VO-2026-0007" in page
        assert f"pagina {number} van {len(pages)}" in page and "VO-2026-0007" in page
    info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert "(A4)" in info


def test_english_documents_say_page_x_of_y():
    text = pdftotext(html_to_pdf(agreement_html(lang="en", paragraphs=80), tenant_name="Zest", created=CREATED))
    assert "page 1 of " in text and "pagina" not in text


def test_the_current_tenant_names_the_header(ctx, make_tenant, as_tenant):
    tenant = make_tenant(name="Kantoor Van Dijk")
    as_tenant(tenant)
    assert "Kantoor Van Dijk" in pdftotext(html_to_pdf(agreement_html(paragraphs=2), created=CREATED))


@pytest.mark.parametrize("html", [
    '<img src="https://example.com/logo.png">',
    '<link rel="stylesheet" href="http://cdn.example.com/x.css">',
    '<style>@import url("https://fonts.example.com/css");</style><p>x</p>',
    '<style>@font-face { font-family: X; src: url("https://fonts.example.com/x.woff2"); } p { font-family: X }</style><p>x</p>',
    '<img src="file:///etc/hostname">',
    '<img src="../../../../../../etc/hostname">',
    '<img src="ftp://example.com/x.png">',
])
def test_nothing_outside_the_module_is_fetched(html):
    with pytest.raises(RenderError):
        html_to_pdf(f"<html><body>{html}</body></html>", tenant_name="Zest", created=CREATED)


def test_data_urls_render():
    pixel = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
             "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
    pdf = html_to_pdf(f'<html><body><img src="{pixel}" alt=""></body></html>', tenant_name="Zest", created=CREATED)
    assert b"/Subtype /Image" in pdf or b"/Image" in pdf
