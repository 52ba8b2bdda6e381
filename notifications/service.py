"""The entry points the GraphQL resolvers and the callback routes call (§C1): one facade over the modules that
implement them, so that the edge depends on one name per operation and never on the module layout."""

from __future__ import annotations

from notifications.callbacks import apply_alipay_events, apply_sms_receipts, apply_wechat_events
from notifications.campaign_service import (
    CampaignInput,
    CampaignPatch,
    approve_campaign,
    cancel_campaign,
    create_campaign,
    get_campaign,
    list_campaigns,
    pause_campaign,
    reject_campaign,
    resume_campaign,
    submit_campaign,
    transitions,
    update_campaign,
)
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
    "CampaignInput",
    "CampaignPatch",
    "TemplateInput",
    "apply_alipay_events",
    "apply_sms_receipts",
    "apply_wechat_events",
    "approve_campaign",
    "campaign_stats",
    "cancel_campaign",
    "create_campaign",
    "create_segment",
    "emit",
    "get_campaign",
    "inbox_page",
    "list_campaigns",
    "list_templates",
    "mark_read",
    "my_preferences",
    "on_late_reply",
    "pause_campaign",
    "preview_segment",
    "register_device",
    "reject_campaign",
    "resume_campaign",
    "save_template",
    "submit_campaign",
    "track_opened",
    "transitions",
    "unregister_device",
    "update_campaign",
    "update_preference",
    "update_quiet_hours",
    "updates",
]
