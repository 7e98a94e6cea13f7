"""Letters to the person who asked, from versioned templates in Dutch and English.

A version is one template file, `templates/rights/letters/v<N>.txt`, holding every letter in both languages;
a changed text is a new file with the next number and `VERSION` raised, so a stored letter always names the
exact text it came from. The rendered letter is kept encrypted (`RightsLetter`) and sent by the outbox.
"""
from __future__ import annotations

from flask import render_template

VERSION = 1
NAMES = ("code", "received", "extension", "access", "portability", "download_code", "rectification", "erasure",
         "restriction", "objection", "withdrawal", "do_not_contact", "refusal", "no_data",
         "page_link")

SUBJECT_LINES = {
    "nl": {"code": "Uw verzoek: bevestig dat u het bent", "received": "Wij hebben uw verzoek ontvangen",
           "extension": "Uw verzoek: wij hebben meer tijd nodig", "download_code": "Code voor het downloaden",
           "refusal": "Antwoord op uw verzoek", "no_data": "Antwoord op uw verzoek",
           "page_link": "Uw persoonlijke pagina"},
    "en": {"code": "Your request: confirm it is you", "received": "We received your request",
           "extension": "Your request: we need more time", "download_code": "Code for the download",
           "refusal": "Answer to your request", "no_data": "Answer to your request",
           "page_link": "Your personal page"},
}
DEFAULT_SUBJECT = {"nl": "Antwoord op uw verzoek", "en": "Answer to your request"}


def subject_line(name: str, locale: str) -> str:
    lang = locale if locale in SUBJECT_LINES else "nl"
    return SUBJECT_LINES[lang].get(name, DEFAULT_SUBJECT[lang])


def render(name: str, locale: str, **values) -> str:
    if name not in NAMES:
        raise ValueError(f"unknown letter {name!r}")
    lang = locale if locale in SUBJECT_LINES else "nl"
    return render_template(f"rights/letters/v{VERSION}.txt", name=name, nl=lang == "nl", **values).strip() + "\n"
