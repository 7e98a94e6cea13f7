"""One page of a list, shared by list pages and the API, and the one rule for a requested page number.

`?page=` is checked once for the whole app (`check_page_argument`, a before_request): a page number is
a whole number from 1 to MAX_PAGE, anything else answers 400 with a message before a view runs. So no
list computes an offset the database cannot hold (page=10**30 was a 500 on both databases).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from flask import request
from werkzeug.exceptions import BadRequest

Item = TypeVar("Item")

PAGE_ARGUMENT = "page"
# Far beyond any list (a million pages of 100 is 10^8 rows), far below what an OFFSET can hold.
MAX_PAGE = 1_000_000


@dataclass
class Page(Generic[Item]):
    items: list[Item]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


class BadPageNumber(BadRequest):
    description = f"'page' must be a whole number from 1 to {MAX_PAGE}."


def page_number(value: str | None) -> int:
    """The page asked for (1 when none); BadPageNumber (400) for anything but 1..MAX_PAGE."""
    if value is None or value == "":
        return 1
    if not (value.isascii() and value.isdigit()) or len(value) > len(str(MAX_PAGE)):
        raise BadPageNumber()
    number = int(value)
    if not 1 <= number <= MAX_PAGE:
        raise BadPageNumber()
    return number


def check_page_argument() -> None:
    """before_request: every `page` in a query string is a valid page number (portal and API alike)."""
    for value in request.args.getlist(PAGE_ARGUMENT):
        page_number(value)
