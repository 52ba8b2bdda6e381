"""Masking of personal data shown to operators (notifications.md §C3: a preview never shows who exactly)."""

from __future__ import annotations


def mask_name(name: str | None) -> str:
    """张三丰 → 张**: the family name only, and never how long the given name is."""
    name = (name or "").strip()
    return f"{name[0]}**" if name else ""


def mask_phone(phone: str | None) -> str:
    """13812345678 → 138****5678; anything shorter than a mobile number is hidden entirely."""
    phone = (phone or "").strip()
    if len(phone) < 8:
        return "****" if phone else ""
    return f"{phone[:3]}****{phone[-4:]}"
