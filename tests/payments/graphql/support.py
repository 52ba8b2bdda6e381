"""Builders for the payments GraphQL tests: payers at a chosen assurance level, bills made by payments' own
create_bill, the finance operator, and the GraphQL documents with every field of their types."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from api.lifespan import Services
from api.models import AssuranceLevel, Person
from api.models.payment import Bill, BillKind
from api.payments_root import PaymentsHarness
from payments import service
from payments.deps import PaymentsDeps
from tests.catalog.support import operator_token
from tests.support.client import Api, Session, fresh_phone

ORDER_FIELDS = """
  id billId status channel product outTradeNo expiresAt paidAt amountFen amountYuan sandboxCashierUrl
  payload {
    __typename
    ... on AlipayAppPayload { orderString }
    ... on AlipayJsapiPayload { tradeNo }
    ... on RedirectPayload { url }
    ... on QrCodePayload { codeUrl }
    ... on WechatAppPayload { appId partnerId prepayId package nonceStr timestamp sign }
    ... on WechatJsapiPayload { appId timeStamp nonceStr package signType paySign }
  }
"""
BILL_FIELDS = """
  id billNo kind subject issuer issuerCode amountFen amountYuan status dueAt paidAt refundedFen refundedYuan
  minAssuranceLevel applicationId applicationProjectNo enterpriseId
  lines { name amountFen amountYuan }
  receipt { id receiptNo issuer amountFen amountYuan issuedAt fileRef }
"""
REFUND_FIELDS = "id orderId billId outRefundNo amountFen amountYuan reason status requestedBy requestedAt succeededAt"
ERROR = "... on Error { code message path }"
CREATE_ERRORS = f"""{ERROR}
  ... on AssuranceTooLowError {{ requiredLevel }}
  ... on ChannelBindingMissingError {{ channel }}
  ... on PaymentInProgressError {{ retryable }}
"""
ORDER_ERRORS = f"{ERROR} ... on PaymentInProgressError {{ retryable }}"
REFUND_ERRORS = f"""{ERROR}
  ... on AvailableMismatchError {{ availableFen }}
  ... on ExceedsAvailableError {{ availableFen }}
  ... on PaymentInProgressError {{ retryable }}
"""

MY_BILLS = f"""
query MyBills($first: Int, $after: String) {{
  myBills(first: $first, after: $after) {{
    edges {{ cursor node {{ {BILL_FIELDS} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""
LOOKUP_BILL = f"""
query Lookup($input: LookupBillInput!) {{ lookupBill(input: $input) {{ {BILL_FIELDS} }} }}
"""
PAYMENT_ORDER = f"query Order($id: ID!) {{ paymentOrder(id: $id) {{ {ORDER_FIELDS} }} }}"
CREATE_PAYMENT = f"""
mutation Pay($input: CreatePaymentInput!) {{
  createPayment(input: $input) {{ __typename ... on PaymentOrder {{ {ORDER_FIELDS} }} {CREATE_ERRORS} }}
}}
"""
CONFIRM_PAYMENT = f"""
mutation Confirm($input: ConfirmPaymentInput!) {{
  confirmPayment(input: $input) {{ __typename ... on PaymentOrder {{ {ORDER_FIELDS} }} {ORDER_ERRORS} }}
}}
"""
CANCEL_PAYMENT = f"""
mutation Cancel($input: CancelPaymentInput!) {{
  cancelPayment(input: $input) {{ __typename ... on PaymentOrder {{ {ORDER_FIELDS} }} {ORDER_ERRORS} }}
}}
"""
REQUEST_REFUND = f"""
mutation Refund($input: RequestRefundInput!) {{
  requestRefund(input: $input) {{ __typename ... on Refund {{ {REFUND_FIELDS} }} {REFUND_ERRORS} }}
}}
"""
ANOMALIES = f"""
query Anomalies($first: Int) {{
  paymentAnomalies(first: $first) {{
    edges {{ node {{
      kind billId noticedAt
      order {{ id status amountFen sandboxCashierUrl payload {{ __typename }} }}
      refund {{ {REFUND_FIELDS} }}
    }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""
RUNS = """
query Runs($first: Int) {
  reconciliationRuns(first: $first) {
    edges { node { id channel billDate status counts startedAt finishedAt error } }
    pageInfo { hasNextPage }
  }
}
"""
DIFFS = """
query Diffs($runId: ID!) {
  reconciliationDiffs(runId: $runId) {
    edges { node { id runId kind outTradeNo outRefundNo ours theirs critical resolution resolvedBy foundAt } }
    pageInfo { hasNextPage }
  }
}
"""


def services(api: Api) -> Services:
    found: Services = api.live.app.state.services
    return found


def deps(api: Api) -> PaymentsDeps:
    return services(api).payments


def harness(api: Api) -> PaymentsHarness:
    found = services(api).payments_sandbox
    assert found is not None, "the test server runs the payment sandboxes"
    return found


async def payer(api: Api, level: AssuranceLevel = AssuranceLevel.L2, **profile: Any) -> tuple[Session, uuid.UUID]:
    """A resident verified at `level` signing in by SMS: the proven phone carries the account's level into the
    session, up to L2."""
    phone = fresh_phone()
    await Person.create(name="测试缴费人", mobile=phone, assurance_level=level, **profile)
    session = await api.sign_in(phone)
    return session, uuid.UUID(session.person_id)


async def new_bill(
    api: Api,
    *,
    person_id: uuid.UUID | None = None,
    enterprise_id: uuid.UUID | None = None,
    amount_fen: int = 5000,
    kind: BillKind = BillKind.FINE,
    subject: str = "交通违法罚款（测试）",
    due_in_days: int | None = 10,
) -> Bill:
    now = api.live.clock.now()
    return await service.create_bill(
        kind=kind,
        person_id=person_id,
        enterprise_id=enterprise_id,
        issuer="测试交警支队",
        issuer_code="",
        subject=subject,
        amount_fen=amount_fen,
        lines=[{"name": "罚款", "amountFen": amount_fen}],
        due_at=None if due_in_days is None else now + timedelta(days=due_in_days),
        now=now,
    )


ACT_AS = """
mutation A($input: ActAsInput!) {
  actAs(input: $input) { __typename ... on AuthPayload { accessToken } ... on Error { code message path } }
}
"""


async def acting_for(api: Api, token: str, enterprise_id: uuid.UUID) -> str:
    result = (await api.data(ACT_AS, {"input": {"enterpriseId": str(enterprise_id)}}, token))["actAs"]
    assert result["__typename"] == "AuthPayload", result
    access: str = result["accessToken"]
    return access


async def finance(api: Api) -> str:
    return await operator_token(api, "finance.city")


def key() -> str:
    return str(uuid.uuid4())


def pay_input(bill_id: str, channel: str = "ALIPAY", product: str = "APP", idem: str | None = None) -> dict[str, Any]:
    return {"input": {"billId": bill_id, "channel": channel, "product": product, "idempotencyKey": idem or key()}}


async def create_payment(
    api: Api, token: str, bill: Bill, channel: str = "ALIPAY", product: str = "APP", idem: str | None = None
) -> dict[str, Any]:
    variables = pay_input(str(bill.id), channel, product, idem)
    result: dict[str, Any] = (await api.data(CREATE_PAYMENT, variables, token))["createPayment"]
    return result
