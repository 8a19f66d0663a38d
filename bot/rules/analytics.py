"""scoring.yaml's `analytics_events`: when Handoff asks HubSpot's web-analytics events API (GET /events/v3/events)
for a contact's page views with their URL and custom events, so URL rules fire on what HubSpot tracked."""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal, Mapping

from pydantic import AfterValidator, Field

from bot.rules.conditions import ACTIVITY_KINDS
from bot.rules.durations import WallDuration
from bot.rules.validation import Number, Strict

# HubSpot's own events are e_{name}; a portal's custom events pe{portalId}_{name}; an app's ae{appId}_{name}.
_EVENT_TYPE = re.compile(r"(e_|pe[0-9]+_|ae[0-9]+_)[A-Za-z0-9_]+")


def _event_types(value: Mapping[str, str]) -> Mapping[str, str]:
    for name in value:
        if not _EVENT_TYPE.fullmatch(name):
            raise ValueError(f"{name!r} is not a HubSpot event type: write e_visited_page, or a custom event's "
                             "internal name such as pe62515_demo_video_played")
    return value


class AnalyticsEvents(Strict):
    """Which contacts are worth a call, how often, how far back, and what each event type means."""
    near_threshold: Number = Field(default=30, ge=0)    # fetch for contacts this many points below mql_threshold
    open_leads: bool = False                            # also fetch for every open lead (one call per lead)
    every: WallDuration = timedelta(minutes=30)         # at most one fetch per contact in this time
    lookback: WallDuration = timedelta(days=30)         # how far back a contact's first fetch looks
    recheck_unavailable: WallDuration = timedelta(hours=24)   # a portal without the API is asked again after
    event_types: Annotated[Mapping[str, Literal[ACTIVITY_KINDS]], AfterValidator(_event_types)] = Field(
        default_factory=lambda: {"e_visited_page": "page_view"}, min_length=1)
