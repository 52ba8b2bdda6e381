"""The IdP sandbox's login page: pick a synthetic account (or refuse), as a person at the browser would."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from api.platforms.sandbox.idp_accounts import IdpAccount

# The authorization request travels through the form unchanged, so the POST is validated exactly like the GET.
FORWARDED = ("client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge")
FORWARDED_ALL = (*FORWARDED, "code_challenge_method")

_STYLE = (
    "body{font-family:sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}"
    "button{display:block;width:100%;margin:.5rem 0;padding:.75rem;font-size:1rem;text-align:left}"
    ".muted{color:#666;font-size:.85rem}"
)


def login_page(action_url: str, params: Mapping[str, str], accounts: Sequence[IdpAccount]) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{escape(params.get(name, ""))}">' for name in FORWARDED_ALL
    )
    buttons = "".join(
        f'<button type="submit" name="subject" value="{escape(a.subject)}">'
        f"{escape(a.name)} <span class=muted>{escape(a.masked_id)} · authlevel {escape(a.authlevel)}</span>"
        "</button>"
        for a in accounts
    )
    if not accounts:
        buttons = "<p>No synthetic accounts. Add some with <code>hub.idp.add_account(...)</code>.</p>"
    return _page(
        "统一身份认证平台（沙箱）",
        f"<p class=muted>Sandbox identity provider. Client <b>{escape(params.get('client_id', ''))}</b> "
        "asks you to sign in. All accounts are synthetic.</p>"
        f'<form method="post" action="{escape(action_url)}">{hidden}{buttons}'
        '<button type="submit" name="deny" value="1">取消登录 (deny)</button></form>',
    )


def error_page(message: str) -> str:
    return _page("登录请求无效", f"<p>{escape(message)}</p>")


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{_STYLE}</style></head>'
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )
