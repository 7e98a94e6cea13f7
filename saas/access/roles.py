"""The roles of a tenant's members, and which people only the board sees."""
from __future__ import annotations

ADMIN, SUPERVISOR, AGENT, CLIENT, BOARD = "admin", "supervisor", "agent", "client", "board"
ROLES = (ADMIN, SUPERVISOR, AGENT, CLIENT, BOARD)
# Categories of people whose records are HR files (seed 004, section 9).
HR_CATEGORIES = frozenset({"employee"})
