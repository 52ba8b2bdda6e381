"""The sandbox cashier page (沙箱收银台): what a person presses "支付" on to complete a sandbox payment."""

from __future__ import annotations

from html import escape

from payments.money import fen_to_yuan


def render_cashier(
    *,
    channel: str,
    payee: str,
    subject: str,
    amount_fen: int,
    pay_action: str,
    cancel_action: str,
    state: str = "",
    return_url: str | None = None,
) -> str:
    """`pay_action` / `cancel_action` are the URLs the two buttons POST to; `state` says what already happened;
    `return_url`, once paid, is where the browser goes back to the merchant, as Alipay's WAP cashier does."""
    done = f'<p class="state">{escape(state)}</p>' if state else ""
    back = (
        f'<meta http-equiv="refresh" content="3;url={escape(return_url)}">'
        f'<p><a id="return" href="{escape(return_url)}">返回商户</a></p>'
        if return_url
        else ""
    )
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(channel)} 沙箱收银台</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:28rem;margin:0 auto;padding:1rem;color:#222}}
.banner{{background:#b00020;color:#fff;padding:.5rem;text-align:center;font-weight:bold;border-radius:4px}}
.amount{{font-size:2rem;margin:1rem 0}} button{{font-size:1.1rem;padding:.6rem 1.4rem;margin-right:.5rem}}
.state{{background:#eef;padding:.5rem;border-radius:4px}}
</style></head><body>
<div class="banner">沙箱 / SANDBOX — 不会产生真实扣款</div>
<h1>{escape(channel)}</h1>
<p>收款方 <strong class="payee">{escape(payee)}</strong></p>
<p>商品 <span class="subject">{escape(subject)}</span></p>
<p class="amount">¥<span id="amount">{fen_to_yuan(amount_fen)}</span></p>
{done}
{back}
<form method="post" action="{escape(pay_action)}" style="display:inline">
<button id="pay" type="submit">支付</button></form>
<form method="post" action="{escape(cancel_action)}" style="display:inline">
<button id="cancel" type="submit">取消</button></form>
</body></html>"""
