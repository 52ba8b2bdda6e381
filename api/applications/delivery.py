"""Result delivery (物流送达, domain.md §7.3, §7.5): EMS with a waybill, pickup at the window, or electronic.

Delivery is a sub-state of a completed case: each send is a `ResultDelivery` row and a DELIVERY_* timeline entry
(`application.delivered`), and the receipt (签收) closes the open one.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from api.applications import staff
from api.applications.journal import Entry
from api.identity.tokens import AccessClaims
from api.kit.errors import Conflict, InvalidInput
from api.models import Application, DeliveryMethod, DeliveryStatus, EventType, ResultDelivery

_WAYBILL = re.compile(r"[0-9A-Z]{8,40}")
_MOBILE = re.compile(r"1\d{10}")
EVENTS = {
    DeliveryMethod.EMS: (EventType.DELIVERY_SHIPPED, DeliveryStatus.SHIPPED),
    DeliveryMethod.PICKUP: (EventType.DELIVERY_READY, DeliveryStatus.READY_FOR_PICKUP),
    DeliveryMethod.ELECTRONIC: (EventType.DELIVERY_ELECTRONIC, DeliveryStatus.E_DELIVERED),
}


@dataclass(frozen=True)
class Shipment:
    """EMS details; receiver fields left empty default to the application's contact and address."""

    waybill_no: str = ""
    carrier: str = "EMS"
    receiver_name: str = ""
    receiver_mobile: str = ""
    address: str = ""


def _waybill(value: str) -> str:
    waybill = value.strip().upper()
    if not _WAYBILL.fullmatch(waybill):
        raise InvalidInput("a waybill number has 8–40 letters or digits", path=["ems", "waybillNo"], code="WAYBILL")
    return waybill


def _shipment(app: Application, given: Shipment) -> Shipment:
    waybill = _waybill(given.waybill_no)
    name = given.receiver_name.strip() or app.contact_name or app.applicant_name
    mobile = given.receiver_mobile.strip() or app.contact_mobile
    address = given.address.strip() or app.address
    if not _MOBILE.fullmatch(mobile):
        raise InvalidInput("the receiver's mobile number", path=["ems", "receiverMobile"], code="MOBILE")
    if not address:
        raise InvalidInput("the delivery address", path=["ems", "address"], code="REQUIRED")
    carrier = staff.text(given.carrier or "EMS", "carrier", limit=20)
    return Shipment(waybill, carrier, name[:64], mobile, address[:300])


async def deliver(
    claims: AccessClaims | None,
    application_id: uuid.UUID,
    method: DeliveryMethod,
    shipment: Shipment | None,
    note: str,
    now: datetime,
) -> Application:
    note = staff.text(note, "note", required=False, limit=500)
    if method is DeliveryMethod.EMS and shipment is None:
        raise InvalidInput("EMS delivery needs the waybill", path=["ems"], code="REQUIRED")
    if method is not DeliveryMethod.EMS and shipment is not None:
        raise InvalidInput("only EMS delivery takes a waybill", path=["ems"], code="NOT_EMS")
    if shipment is not None:
        _waybill(shipment.waybill_no)
    event, status = EVENTS[method]

    async def build(case: staff.Case, db: BaseDBAsyncClient) -> Entry:
        app = case.app
        sent = _shipment(app, shipment) if shipment is not None else Shipment(carrier="")
        row = await ResultDelivery.create(
            using_db=db,
            id=uuid.uuid4(),
            application_id=app.id,
            method=method,
            carrier=sent.carrier,
            waybill_no=sent.waybill_no,
            sender_org_id=app.accepting_org_id,
            sent_at=now,
            receiver_name=sent.receiver_name or app.applicant_name,
            receiver_mobile=sent.receiver_mobile,
            address=sent.address,
            received_at=now if method is DeliveryMethod.ELECTRONIC else None,
            status=status,
        )
        detail = {
            "deliveryId": str(row.id),
            "method": method.value,
            "carrier": sent.carrier,
            "waybillNo": sent.waybill_no,
        }
        return Entry(
            step_name="送达",
            opinion=note,
            detail=detail,
            changes={"delivery_method": method, "delivery_status": status},
            payload=detail,
        )

    return await staff.transition(claims, application_id, event, now, build)


async def confirm_received(
    claims: AccessClaims | None, application_id: uuid.UUID, note: str, now: datetime
) -> Application:
    """签收: the open EMS shipment or pickup is received."""
    note = staff.text(note, "note", required=False, limit=500)

    async def build(case: staff.Case, db: BaseDBAsyncClient) -> Entry:
        waiting = ResultDelivery.filter(
            application_id=case.app.id, status__in=[DeliveryStatus.SHIPPED, DeliveryStatus.READY_FOR_PICKUP]
        ).using_db(db)
        row = await waiting.order_by("-created_at").first()
        if row is None:
            raise Conflict("no shipment or pickup is waiting to be received", code="NO_OPEN_DELIVERY")
        await ResultDelivery.filter(id=row.id).using_db(db).update(status=DeliveryStatus.RECEIVED, received_at=now)
        return Entry(
            step_name="签收",
            action_result="PASS",
            opinion=note,
            detail={"deliveryId": str(row.id), "method": row.method.value},
            changes={"delivery_status": DeliveryStatus.RECEIVED},
        )

    return await staff.transition(claims, application_id, EventType.DELIVERY_RECEIVED, now, build)
