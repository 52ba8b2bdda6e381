"""submitApplication: numbering, materials from the wallet, the SUBMIT event and its outbox row."""

from __future__ import annotations

import re

from api.models import Application, ApplicationEvent, ApplicationMaterial, LicenseUse, OutboxEvent
from tests.applications.support import (
    INSTANT_ITEM,
    PROMISED_ITEM,
    resident_token,
    service_code,
    submitted,
)
from tests.support.client import Api


class TestSubmitApplication:
    async def test_a_promised_item_is_submitted_with_a_project_number_and_its_first_event(self, api: Api) -> None:
        # given resident 1 and the 承诺件
        token = await resident_token(api, 1)
        code = await service_code(PROMISED_ITEM)

        # when they apply
        app = await submitted(api, token, PROMISED_ITEM)

        # then the case is SUBMITTED with a 43-character number of today's sequence
        assert app["status"] == "SUBMITTED"
        assert app["statusLabel"] == "待预审"
        assert re.fullmatch(re.escape(code) + r"\d{8}\d{4}", app["projectNo"])
        assert [(e["seq"], e["type"], e["toStatus"]) for e in app["timeline"]] == [(1, "SUBMIT", "SUBMITTED")]
        row = await Application.get(id=app["id"])
        assert row.last_seq == 1 and row.promise_date is None and row.accept_time is None
        outbox = await OutboxEvent.filter(key=app["id"]).values_list("topic", "state_version")
        assert outbox == [("application.submitted", 1)]
        vias = sorted((m["name"], m["providedVia"], m["trustGrade"]) for m in app["materials"])
        assert sorted(v[1:] for v in vias) == [("DATA_SHARING", "A"), ("UPLOAD", "C"), ("UPLOAD", "C")]
        assert await ApplicationEvent.filter(application_id=app["id"]).count() == 1

    async def test_an_instant_item_completes_at_once_with_the_wallet_licence_attached(self, api: Api) -> None:
        token = await resident_token(api, 2)
        app = await submitted(api, token, INSTANT_ITEM)
        assert app["status"] == "COMPLETED", app
        wallet = [m for m in app["materials"] if m["providedVia"] == "ELICENSE"]
        assert len(wallet) == 1 and wallet[0]["trustGrade"] == "A" and wallet[0]["licenseId"]
        uses = await LicenseUse.filter(application_id=app["id"]).values_list("elicense_id", "use_type")
        assert [(str(u[0]), u[1].value) for u in uses] == [(wallet[0]["licenseId"], "ATTACH_TO_APPLICATION")]
        assert await ApplicationMaterial.filter(application_id=app["id"]).count() == len(app["materials"])
