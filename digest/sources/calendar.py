"""arXiv's announcement calendar: every date rule lives here."""

from __future__ import annotations

from zoneinfo import ZoneInfo

# arXiv runs on US Eastern time: cutoffs at 14:00, announcements at 20:00, listing dates in ET.
ET = ZoneInfo("America/New_York")
