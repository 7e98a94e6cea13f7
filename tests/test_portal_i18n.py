"""The Dutch and English catalogs cover every string of the portal shell, and the committed .mo files match."""
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "saas" / "translations"
# The portal shell's own files (other features check their own strings).
SOURCES = {
    "python": ["saas/modules/accounts/*.py", "saas/modules/dashboard/*.py"],
    "jinja2.ext:babel_extract": [
        "saas/templates/**/*.html", "saas/modules/accounts/templates/**/*.html",
        "saas/modules/dashboard/templates/**/*.html",
    ],
}
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None}


def _message_ids() -> set:
    found = set()
    for method, patterns in SOURCES.items():
        for pattern in patterns:
            for path in ROOT.glob(pattern):
                for _line, message, _comments, _context in extract_from_file(method, str(path), keywords=KEYWORDS):
                    found.add(message)
    return found


def _key(value):
    """Plural messages have several ids and strings (lists or tuples, depending on the reader)."""
    return tuple(value) if isinstance(value, (list, tuple)) else value


def _catalog(locale: str):
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=locale)


def test_the_portal_has_strings_to_translate():
    assert len(_message_ids()) > 50


@pytest.mark.parametrize("locale", ["nl", "en"])
def test_every_portal_string_is_translated(locale):
    catalog = _catalog(locale)
    untranslated = []
    for message_id in _message_ids():
        key = message_id[0] if isinstance(message_id, tuple) else message_id
        message = catalog.get(key)
        strings = message.string if message is not None and isinstance(message.string, tuple) else (
            (message.string,) if message is not None else ("",))
        if message is None or message.fuzzy or not all(strings):
            untranslated.append(key)
    assert sorted(untranslated) == []


@pytest.mark.parametrize("locale", ["nl", "en"])
def test_compiled_catalogs_match_their_sources(locale):
    source = _catalog(locale)
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo").open("rb") as f:
        compiled = read_mo(f)
    expected = {_key(m.id): _key(m.string) for m in source if m.id and m.string and not m.fuzzy}
    actual = {_key(m.id): _key(m.string) for m in compiled if m.id}
    assert actual == expected
