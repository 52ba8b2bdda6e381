"""Preferences as the schema shows them, from `notifications.preferences.PreferencesView`."""

from __future__ import annotations

from datetime import time

from notifications.preferences import PreferencesView
from schema.notifications.enums import NotificationCategory, NotificationChannel, to_view
from schema.notifications.types import CategoryPreference, ChannelPreference, NotificationPreferences


def _hh_mm(value: time) -> str:
    return value.strftime("%H:%M")


def preferences_view(view: PreferencesView) -> NotificationPreferences:
    return NotificationPreferences(
        categories=[
            CategoryPreference(
                category=to_view(c.category, NotificationCategory),
                enabled=c.enabled,
                mutable=c.mutable,
                channels=[
                    ChannelPreference(
                        channel=to_view(s.channel, NotificationChannel), enabled=s.enabled, mutable=s.mutable
                    )
                    for s in c.channels
                ],
            )
            for c in view.categories
        ],
        quiet_start=_hh_mm(view.quiet_start),
        quiet_end=_hh_mm(view.quiet_end),
        default_quiet_start=_hh_mm(view.default_quiet_start),
        default_quiet_end=_hh_mm(view.default_quiet_end),
        timezone=view.timezone,
    )
