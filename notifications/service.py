"""The entry points the GraphQL resolvers and the callback routes call (§C1): one facade over the modules that
implement them, so that the edge depends on one name per operation and never on the module layout."""

from __future__ import annotations

from notifications.callbacks import apply_alipay_events, apply_sms_receipts, apply_wechat_events
from notifications.devices import register_device, unregister_device
from notifications.emit import emit
from notifications.inbox import inbox_page, mark_read, updates
from notifications.outcomes import on_late_reply
from notifications.preferences import my_preferences, update_preference, update_quiet_hours
from notifications.segments import create_segment, preview_segment
from notifications.stats import campaign_stats
from notifications.template_checks import TemplateInput
from notifications.templates import list_templates, save_template
from notifications.tracking import track_opened

__all__ = [
    "TemplateInput",
    "apply_alipay_events",
    "apply_sms_receipts",
    "apply_wechat_events",
    "campaign_stats",
    "create_segment",
    "emit",
    "inbox_page",
    "list_templates",
    "mark_read",
    "my_preferences",
    "on_late_reply",
    "preview_segment",
    "register_device",
    "save_template",
    "track_opened",
    "unregister_device",
    "update_preference",
    "update_quiet_hours",
    "updates",
]

# The campaign service lands separately; until then its names resolve on first use (PEP 562).
_CAMPAIGN_NAMES = frozenset(
    {
        "CampaignInput",
        "CampaignPatch",
        "create_campaign",
        "update_campaign",
        "submit_campaign",
        "approve_campaign",
        "reject_campaign",
        "pause_campaign",
        "resume_campaign",
        "cancel_campaign",
        "get_campaign",
        "transitions",
        "list_campaigns",
    }
)


def __getattr__(name: str) -> object:
    if name not in _CAMPAIGN_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module("notifications.campaign_service"), name)
