"""`saas worker` and `saas cron`."""
from __future__ import annotations

COMMANDS: list = []
