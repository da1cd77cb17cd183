"""Positions in a video as a player shows them."""

from __future__ import annotations

import datetime

from django import template

register = template.Library()


@register.filter
def playtime(position: datetime.timedelta | None) -> str:
    """4:05, or 1:02:03 past an hour; empty for no position."""
    if position is None:
        return ""
    minutes, seconds = divmod(int(position.total_seconds()), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}:{minutes:02}:{seconds:02}"
    return f"{minutes}:{seconds:02}"
