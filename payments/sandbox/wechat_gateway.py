"""WeChat Pay v3 sandbox (payments.md §14): the merchant API a real `AsyncWeChatPay` talks to, over real HTTP.

It verifies our `Authorization` header, signs every answer with its platform key (`Wechatpay-*` headers, 204s
included), answers in WeChat's shapes and error codes, and sends AES-256-GCM encrypted, signed notifies to the
notify URL of each order on WeChat's retry schedule under its own clock. Tests script it per operation (delays past
our timeout, 5xx, mis-signed and WECHATPAY/SIGNTEST/ probe answers, with or without the action really happening).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette._utils import get_route_path
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from api.kit.clock import Clock
from api.models.payment import Product
from api.platforms.sandbox.base import Handler, ProviderCall, RecordedRequest, Sandbox
from payments.channels.base import BillLine
from payments.channels.rsa2 import load_private_key
from payments.sandbox.notifier import WECHAT_RETRIES, Attempt, Delivery, NotifySender
from payments.sandbox.wechat_crypto import (
    apply_header_overrides,
    encrypt_resource,
    generate_key,
    load_public_pem,
    parse_authorization,
    public_pem,
    random_text,
    signed_headers,
    verify,
)
from payments.sandbox.wechat_endpoints import WechatEndpoints
from payments.sandbox.wechat_scripts import OPERATIONS, OpScript, Reply, failure, operation_of
from payments.sandbox.wechat_state import REFUND_SUMMARY, Refund, Trade, TradeStateError, new_transaction_id, rfc3339

__all__ = ["OPERATIONS", "TradeStateError", "WechatPaySandbox"]


_SETTLE_LIMIT_S = 30.0


def _acknowledged(status: int, body: str) -> bool:
    return 200 <= status < 300  # WeChat: any 2xx, body ignored


@dataclass(frozen=True)
class PlatformKeys:
    private_key_pem: str
    public_key_id: str
    apiv3_key: str


@dataclass
class _Merchant:
    keys: dict[str, rsa.RSAPublicKey] = field(default_factory=dict)  # serial_no → merchant public key


class WechatPaySandbox(WechatEndpoints, Sandbox):
    name = "wechatpay"

    def __init__(
        self,
        hub_base_url: str,
        clock: Clock,
        *,
        mchid: str,
        appid: str,
        http: httpx.AsyncClient | None = None,
        platform_keys: PlatformKeys | None = None,
    ) -> None:
        """`platform_keys`: kept by the caller so that every process of an installation (API, worker) knows the
        sandbox's public key and APIv3 key; generated here when absent."""
        super().__init__(hub_base_url, clock)
        self.mchid, self.appid = mchid, appid
        if platform_keys is None:
            self._key = generate_key()
            self.public_key_pem = public_pem(self._key)
            self.public_key_id = "PUB_KEY_ID_01" + "".join(secrets.choice("0123456789") for _ in range(30))
            self.apiv3_key = random_text(32)
        else:
            self._key = load_private_key(platform_keys.private_key_pem)
            self.public_key_pem = public_pem(self._key)
            self.public_key_id, self.apiv3_key = platform_keys.public_key_id, platform_keys.apiv3_key
        self.gateway_url = self.base_url  # what the SDK's _core._gate_way is set to
        # Where send_notify posts when neither the event nor a known trade names a URL.
        self.default_notify_url: str | None = None
        # How a refund ends right after it is answered PROCESSING; None: it stays PROCESSING (complete_refund).
        self.refund_result: str | None = "SUCCESS"
        self.certificate_hits = 0
        self._merchants: dict[str, _Merchant] = {}
        self._trades: dict[str, Trade] = {}
        self._refunds: dict[str, Refund] = {}
        self._bills: dict[date, list[BillLine]] = {}
        self._bill_files: dict[str, bytes] = {}
        self._op_scripts: list[OpScript] = []
        self._afters: set[asyncio.Future[None]] = set()  # follow-ups of answers, until they have run
        self._http = http
        self._own_http: httpx.AsyncClient | None = None
        self._notifier = NotifySender(clock, WECHAT_RETRIES, _acknowledged, http)

    # -- set-up (composition root) --

    def register_merchant(self, mchid: str, serial_no: str, merchant_public_key_pem: str) -> None:
        """Our merchant API key as uploaded in the merchant console: requests signed with it are accepted."""
        self._merchants.setdefault(mchid, _Merchant()).keys[serial_no] = load_public_pem(merchant_public_key_pem)

    def bind_http(self, http: httpx.AsyncClient) -> None:
        self._http = http
        self._notifier.bind(http)

    async def aclose(self) -> None:
        """Closes the HTTP client the sandbox made for itself when none was given."""
        if self._own_http is not None:
            await self._own_http.aclose()
            self._own_http = None

    def cashier_url(self, product: Product | str, out_trade_no: str, payload: Mapping[str, Any] | None) -> str | None:
        """The sandbox cashier page of a trade this sandbox has accepted; None otherwise."""
        if str(product) not in {p.value for p in (Product.APP, Product.JSAPI, Product.NATIVE, Product.H5)}:
            return None
        return f"{self.base_url}/cashier/{out_trade_no}" if out_trade_no in self._trades else None

    # -- harness: payments and refunds --

    def trade(self, out_trade_no: str) -> Trade | None:
        return self._trades.get(out_trade_no)

    def trades(self) -> dict[str, Trade]:
        return dict(self._trades)

    def refund_record(self, out_refund_no: str) -> Refund | None:
        return self._refunds.get(out_refund_no)

    def refunds(self) -> dict[str, Refund]:
        return dict(self._refunds)

    def transaction_resource(self, out_trade_no: str, **overrides: Any) -> dict[str, Any]:
        """The trade's transaction object as a notify would carry it, with `overrides` (for forged notifies)."""
        return self._trades[out_trade_no].to_json() | overrides

    async def pay(self, out_trade_no: str, amount_fen: int | None = None, notify: bool = True) -> dict[str, Any]:
        """The payer pays: the trade becomes SUCCESS and (unless `notify` is False) TRANSACTION.SUCCESS is sent.

        `amount_fen` is what the payer paid, reported as amount.total (an amount-mismatch scenario).
        """
        trade = self._trades[out_trade_no]
        now = self.clock.now()
        if trade.paid:
            raise TradeStateError("ORDERPAID", "该订单已支付")
        if trade.state == "CLOSED":
            raise TradeStateError("ORDER_CLOSED", "订单已关闭")
        if trade.expired(now):
            raise TradeStateError("ORDER_EXPIRED", "订单已过期，不能支付")
        if amount_fen is not None and (type(amount_fen) is not int or amount_fen < 1):
            raise ValueError("amount_fen must be a positive integer")
        trade.state, trade.transaction_id, trade.success_time = "SUCCESS", new_transaction_id(now), now
        trade.paid_fen = amount_fen
        trade.openid = trade.openid or "o" + random_text(27)
        if notify:
            self._queue_event(
                trade.out_trade_no, trade.notify_url, "TRANSACTION.SUCCESS", "支付成功", trade.to_json(), "transaction"
            )
        return trade.to_json()

    async def close_trade(self, out_trade_no: str) -> None:
        """The trade is closed on WeChat's side (the payer gave up, or it expired there)."""
        trade = self._trades[out_trade_no]
        if trade.paid:
            raise TradeStateError("ORDERPAID", "该订单已支付")
        trade.state = "CLOSED"

    async def complete_refund(self, out_refund_no: str, status: str = "SUCCESS", notify: bool = True) -> None:
        """A PROCESSING (or ABNORMAL) refund ends as SUCCESS, ABNORMAL or CLOSED, with its REFUND.* notify."""
        refund = self._refunds[out_refund_no]
        if status not in REFUND_SUMMARY:
            raise ValueError(f"status must be one of {sorted(REFUND_SUMMARY)}")
        if refund.status not in ("PROCESSING", "ABNORMAL"):
            raise TradeStateError("REFUND_FINISHED", f"退款已是终态 {refund.status}")
        refund.status = status
        if status == "SUCCESS":
            refund.success_time = self.clock.now()
        if notify:
            self._queue_event(
                refund.trade.out_trade_no,
                refund.notify_url,
                f"REFUND.{status}",
                REFUND_SUMMARY[status],
                refund.to_json(notify=True),
                "refund",
            )

    # -- harness: notifies --

    @property
    def deliveries(self) -> list[Delivery]:
        return list(self._notifier.deliveries)

    def drop_notifies(self, out_trade_no: str) -> None:
        """Lose every notify about the trade (payment and refunds), queued or future."""
        self._notifier.drop(out_trade_no)

    async def deliver_pending(self) -> list[Delivery]:
        return await self._notifier.deliver_pending()

    async def redeliver(self, delivery_id: int, concurrency: int = 1) -> list[Attempt]:
        return await self._notifier.redeliver(delivery_id, concurrency)

    async def settle(self) -> None:
        """Waits for what is under way: follow-ups of answers already given (a refund finishing after its
        answer) and the notify posts they and the harness started."""
        while True:
            if self._afters:
                # Bounded: a follow-up whose answer was never sent (server shutting down) never runs.
                await asyncio.wait(list(self._afters), timeout=_SETTLE_LIMIT_S)
                self._afters = {after for after in self._afters if not after.done()}
            await self._notifier.settle()
            if not self._afters:
                return

    async def send_notify(
        self,
        event: Mapping[str, Any],
        sign_with: rsa.RSAPrivateKey | None = None,
        headers: Mapping[str, str | None] | None = None,
    ) -> Delivery:
        """Posts any notify now. `event`: `event_type` and `resource` (plaintext object, encrypted here; or an
        already encrypted object with `ciphertext`), optionally `id`, `create_time`, `summary`, `resource_type`,
        `notify_url`. `sign_with` signs with another key; `headers` replace signed headers (None removes one)."""
        event_type, resource = event.get("event_type"), event.get("resource")
        if not isinstance(event_type, str) or not isinstance(resource, Mapping):
            raise ValueError("the event needs an event_type and a resource object")
        out_trade_no = str(resource.get("out_trade_no", ""))
        trade = self._trades.get(out_trade_no)
        url = event.get("notify_url") or (trade.notify_url if trade else None) or self.default_notify_url
        if not isinstance(url, str) or not url:
            raise ValueError("no notify URL: give notify_url, a known out_trade_no, or set default_notify_url")
        return self._queue_event(
            out_trade_no,
            url,
            event_type,
            str(event.get("summary", "")),
            dict(resource),
            "refund" if event_type.startswith("REFUND.") else "transaction",
            envelope_overrides={k: event[k] for k in ("id", "create_time", "resource_type") if k in event},
            sign_with=sign_with,
            header_overrides=headers,
        )

    def _queue_event(
        self,
        key: str,
        url: str,
        event_type: str,
        summary: str,
        resource: dict[str, Any],
        original_type: str,
        *,
        envelope_overrides: Mapping[str, Any] | None = None,
        sign_with: rsa.RSAPrivateKey | None = None,
        header_overrides: Mapping[str, str | None] | None = None,
    ) -> Delivery:
        now = self.clock.now()
        sealed = (
            resource
            if "ciphertext" in resource
            else encrypt_resource(
                self.apiv3_key,
                json.dumps(resource, ensure_ascii=False, separators=(",", ":")),
                original_type,
                original_type,
            )
        )
        envelope: dict[str, Any] = {
            "id": secrets.token_hex(18),
            "create_time": rfc3339(now),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": summary,
            "resource": sealed,
        } | dict(envelope_overrides or {})
        body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))
        signed = signed_headers(sign_with or self._key, self.public_key_id, int(now.timestamp()), body)
        headers = apply_header_overrides({"Content-Type": "application/json", **signed}, header_overrides)
        self._ensure_http()
        return self._notifier.queue(key, url, headers, body.encode("utf-8"))

    def _ensure_http(self) -> None:
        if self._http is None:
            self._own_http = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=3.0))
            self.bind_http(self._own_http)

    # -- harness: scripts, bills, the log --

    def script(
        self,
        operation: str | Mapping[str, Any],
        action: Mapping[str, Any] | None = None,
        times: int | None = 1,
        *,
        delay_s: float | None = None,
        http_status: int | None = None,
        mis_sign: bool = False,
        probe_signature: bool = False,
        perform_anyway: bool = False,
    ) -> None:
        """Answer the next `times` calls of `operation` (None: until cleared) as told.

        `delay_s`: the action happens at once, the answer comes late (past our read timeout). `http_status`: the
        answer is that error and the action does not happen, unless `perform_anyway`. `mis_sign` / `probe_signature`:
        the real answer to an action that did happen, signed over other content / with a WECHATPAY/SIGNTEST/ probe.
        A mapping as first argument is the generic sandbox script (`match`, `action`).
        """
        if isinstance(operation, Mapping):
            super().script(operation, action or {}, times)
            return
        self.op_scripts_add(
            OpScript.build(operation, delay_s, http_status, mis_sign, probe_signature, perform_anyway, times)
        )

    def op_scripts_add(self, script: OpScript) -> None:
        self._op_scripts.append(script)

    def clear_scripts(self) -> None:
        super().clear_scripts()
        self._op_scripts.clear()

    def op_scripts(self) -> list[OpScript]:
        return list(self._op_scripts)

    def set_bill(self, bill_date: date, lines: Sequence[BillLine | Mapping[str, Any]]) -> None:
        """What the trade bill of `bill_date` lists from now on (instead of the sandbox's own trades of the day)."""
        self._bills[bill_date] = [line if isinstance(line, BillLine) else _bill_line(line) for line in lines]

    def requests(self, operation: str | None = None) -> list[RecordedRequest]:
        recorded = super().requests()
        if operation is None:
            return recorded
        return [r for r in recorded if operation_of(r.method, r.path) == operation]

    def reset(self) -> None:
        """Forget what tests did; keys, merchants and settings made by the composition root stay."""
        super().reset()
        self._op_scripts.clear()
        self._trades.clear()
        self._refunds.clear()
        self._bills.clear()
        self._bill_files.clear()
        self._notifier.reset()
        self.certificate_hits = 0
        self.refund_result = "SUCCESS"

    # -- the HTTP side --

    def provider_routes(self) -> list[tuple[str, list[str], Handler]]:
        return self.endpoint_routes()

    def harness_routes(self) -> list[BaseRoute]:
        from payments.sandbox.wechat_control import cashier_routes, control_routes

        return [*control_routes(self), *cashier_routes(self)]

    async def _read(self, request: Request, path: str) -> ProviderCall:
        # Recorded (and matched by generic scripts) under the real path, not the route pattern.
        return await super()._read(request, get_route_path(request.scope))

    async def _control_requests(self, request: Request) -> Response:
        operation = request.query_params.get("operation")
        if request.method == "GET" and operation:
            return _json([recorded.to_json() for recorded in self.requests(operation)])
        return await super()._control_requests(request)

    async def _control_script(self, request: Request) -> Response:
        from payments.sandbox.wechat_control import control_script

        return await control_script(self, request, super()._control_script)

    async def serve(
        self, call: ProviderCall, operation: str, perform: Callable[[str, ProviderCall], Awaitable[Reply]]
    ) -> Response:
        """Authenticate, apply this operation's script, perform, sign the answer."""
        mchid = await self._authenticate(call)
        if mchid is None:
            return await self._respond(Reply(401, {"code": "SIGN_ERROR", "message": "签名错误，请检查后再试"}))
        script = self._take_op_script(operation)
        if script is not None and script.http_status is not None and not script.perform_anyway:
            reply = failure(script.http_status)
        else:
            reply = await perform(mchid, call)
            if script is not None and script.http_status is not None and not 200 <= script.http_status < 300:
                reply = failure(script.http_status, after=reply.after)
        background = self._tracked(reply.after) if reply.after else None
        if script is not None and script.delay_s:
            # The action already happened; only the answer is late. Follow-ups wait for it, as they would.
            await asyncio.sleep(script.delay_s)
        mis_sign = call.action.bad_signature or (script is not None and script.mis_sign)
        probe = script is not None and script.probe_signature
        return await self._respond(reply, mis_sign=mis_sign, probe=probe, background=background)

    def _take_op_script(self, operation: str) -> OpScript | None:
        for script in self._op_scripts:
            if script.operation == operation:
                if script.remaining is not None:
                    script.remaining -= 1
                    if script.remaining <= 0:
                        self._op_scripts.remove(script)
                return script
        return None

    async def _authenticate(self, call: ProviderCall) -> str | None:
        """The merchant whose key signed `METHOD\\npath?query\\ntimestamp\\nnonce\\nbody\\n`, path relative to
        this sandbox's base URL as the SDK signs it. The timestamp's age is not checked: the SDK stamps requests
        with the process clock and this sandbox runs on an injectable one."""
        fields = parse_authorization(call.request.headers.get("authorization", ""))
        merchant = self._merchants.get(fields["mchid"]) if fields else None
        key = merchant.keys.get(fields["serial_no"]) if merchant and fields else None
        if fields is None or key is None:
            return None
        query = call.request.scope.get("query_string", b"").decode("latin-1")
        target = get_route_path(call.request.scope) + (f"?{query}" if query else "")
        try:
            body = (await call.request.body()).decode("utf-8")
        except UnicodeDecodeError:
            return None
        parts = (call.method.upper(), target, fields["timestamp"], fields["nonce_str"], body)
        return fields["mchid"] if await asyncio.to_thread(verify, key, fields["signature"], *parts) else None

    async def _respond(
        self, reply: Reply, *, mis_sign: bool = False, probe: bool = False, background: BackgroundTask | None = None
    ) -> Response:
        if isinstance(reply.body, bytes):
            # A bill file: WeChat does not sign downloads; the signed tradebill answer carries its digest.
            return Response(reply.body, reply.status, media_type="application/octet-stream", background=background)
        content = "" if reply.body is None else json.dumps(reply.body, ensure_ascii=False, separators=(",", ":"))
        stamp = int(self.clock.now().timestamp())
        headers = await asyncio.to_thread(
            signed_headers, self._key, self.public_key_id, stamp, content, mis_sign=mis_sign, probe=probe
        )
        headers["Request-ID"] = secrets.token_hex(16)
        media_type = "application/json; charset=utf-8" if content else None
        return Response(content, reply.status, headers=headers, media_type=media_type, background=background)

    def _tracked(self, steps: Sequence[Callable[[], Awaitable[None]]]) -> BackgroundTask:
        """Steps run once the answer is sent, and known to settle() from now on."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._afters.add(done)

        async def run() -> None:
            try:
                for step in steps:
                    await step()
            finally:
                self._afters.discard(done)
                if not done.done():
                    done.set_result(None)

        return BackgroundTask(run)

    async def scripted_body(self, call: ProviderCall) -> Response:
        """A generic script's body, signed as a real answer would be (mis-signed with `badSignature`)."""
        body = call.action.body
        return await self._respond(
            Reply(call.action.status or 200, body if isinstance(body, dict | list) else None),
            mis_sign=call.action.bad_signature,
        )


def _bill_line(raw: Mapping[str, Any]) -> BillLine:
    def pick(*names: str) -> Any:
        return next((raw[n] for n in names if n in raw), None)

    at = pick("at", "time")
    kind, amount = pick("kind"), pick("amount_fen", "amountFen")
    out_trade_no, trade_no = pick("out_trade_no", "outTradeNo"), pick("channel_trade_no", "channelTradeNo")
    if kind not in ("pay", "refund") or type(amount) is not int or amount < 1:
        raise ValueError("a bill line needs kind pay|refund and a positive integer amountFen")
    if not isinstance(out_trade_no, str) or not isinstance(trade_no, str) or not isinstance(at, str | datetime):
        raise ValueError("a bill line needs outTradeNo, channelTradeNo and at")
    moment = at if isinstance(at, datetime) else datetime.fromisoformat(at)
    if moment.tzinfo is None:
        raise ValueError("a bill line's `at` must carry its UTC offset")
    refund_no = pick("out_refund_no", "outRefundNo")
    return BillLine(kind, out_trade_no, trade_no, amount, moment, refund_no if isinstance(refund_no, str) else None)


def _json(value: Any, status: int = 200) -> Response:
    return Response(json.dumps(value, ensure_ascii=False), status, media_type="application/json")
