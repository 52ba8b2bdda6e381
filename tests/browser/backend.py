"""The other side of the browser journeys, over plain HTTP: the SMS sandbox, residents' tokens for setting the scene,
the department's case handler (password + TOTP, as `zsb demo-totp` computes it) and the seeded verifier app."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import pyotp

from api.kit.codes import id_number_check_char
from api.seed.context import seed_id
from api.seed.operators import DEMO_PASSWORD, VERIFIER_CLIENT_ID, VERIFIER_CREDENTIAL, demo_totp_secret
from api.seed.residents import BY_NUMBER
from sync.merge import map_hash, value_hash

T = TypeVar("T")

REQUEST_CODE = "mutation C($input: RequestSmsCodeInput!) { requestSmsCode(input: $input) { __typename } }"
SIGN_IN = """
mutation S($input: SignInWithSmsInput!) {
  signInWithSms(input: $input) { __typename ... on AuthPayload { accessToken } ... on Error { code message } }
}
"""
OPERATOR_SIGN_IN = """
mutation O($input: OperatorSignInInput!) {
  operatorSignIn(input: $input) { __typename ... on OperatorAuthPayload { accessToken } ... on Error { code message } }
}
"""
APPLICATION = "query A($id: ID!) { application(id: $id) { id status statusLabel projectNo formData } }"
HANDLED = """
  __typename
  ... on HandledApplication { application { id status statusLabel } }
  ... on ApplicationTransitionError { status allowedEvents }
  ... on Error { code message }
"""
HANDLING_INPUTS = {
    "passApplicationPrecheck": "PassApplicationPrecheckInput",
    "receiveApplication": "ReceiveApplicationInput",
    "acceptApplication": "AcceptApplicationInput",
    "requestApplicationPayment": "RequestApplicationPaymentInput",
}
SEARCH = (
    "query S($q: String!) { searchServices(query: $q, first: 5) { edges { node { service { serviceCode name } } } } }"
)
GUIDE = "query G($code: String!) { serviceGuide(serviceCode: $code) { formVersion } }"
PUSH = """
mutation P($input: SyncPushInput!) {
  syncPush(input: $input) {
    ... on SyncPushPayload { results { status draftVersion applicationId error { code paths } } }
    ... on SyncPushRejected { code message }
  }
}
"""
MY_LICENSES = "query { myLicenses(first: 50) { edges { node { id name status } } } }"
VERIFY = """
mutation V($input: VerifyLicenseTokenInput!) {
  verifyLicenseToken(input: $input) {
    __typename ... on LicenseVerification { authentic valid license { name } } ... on Error { code message }
  }
}
"""


def resident_phone(n: int) -> str:
    """Seeded resident n (api/seed/residents.py): 1990000NNNN, a visibly synthetic range."""
    return f"1990000{n:04d}"


def seeded_application(label: str) -> str:
    """The id of a case the seed made (api/seed/applications.py labels: `submitted-1`, `pending-1` …)."""
    return str(seed_id("application", label))


def replacement_card_form(n: int) -> dict[str, str]:
    """居民身份证补领 filled in for seeded resident n: the seed's name and mobile, a synthetic region-99 ID number."""
    first17 = f"99010219900101{n:03d}"
    return {
        "applicant/name": BY_NUMBER[n].name,
        "applicant/id_number": first17 + id_number_check_char(first17),
        "applicant/mobile": resident_phone(n),
        "card/lost_date": "2026-11-20",
        "delivery/method": "窗口领取",
    }


def eventually(check: Callable[[], T | None], seconds: float = 15.0, what: str = "the condition") -> T:
    """Workers and notifies run in the background: wait a bounded while for their effect."""
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {seconds} s")
        time.sleep(0.1)


@dataclass
class Backend:
    base_url: str
    http: httpx.Client
    _operator_tokens: dict[str, str] = field(default_factory=dict)
    _push_client: dict[str, str] = field(default_factory=dict)

    def graphql(self, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = self.http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    def sms_codes(self, phone: str) -> list[str]:
        """Every code the SMS sandbox has "sent" to the phone, oldest first."""
        response = self.http.get("/sandbox/sms/messages", params={"phone": phone})
        assert response.status_code == 200, response.text
        return [message["params"]["code"] for message in response.json()["messages"]]

    def next_sms_code(self, phone: str, seen: int) -> str:
        """The code sent after the `seen` codes already there (the browser asked for it)."""
        codes = eventually(lambda: self.sms_codes(phone)[seen:], 10.0, f"an SMS code to {phone}")
        return codes[-1]

    def resident_token(self, n: int) -> str:
        """Seeded resident n signs in over HTTP, to set a scene (the browser signs in on its own)."""
        phone = resident_phone(n)
        sent = self.graphql(REQUEST_CODE, {"input": {"phone": phone}})["requestSmsCode"]
        assert sent["__typename"] == "SmsCodeSent", sent
        code = self.sms_codes(phone)[-1]
        result = self.graphql(SIGN_IN, {"input": {"phone": phone, "code": code}})["signInWithSms"]
        assert result["__typename"] == "AuthPayload", result
        token: str = result["accessToken"]
        return token

    def operator_token(self, username: str) -> str:
        """Signs an operator in once per server: a TOTP step is single-use, a second sign-in would wait 30 s."""
        if username not in self._operator_tokens:
            code = pyotp.TOTP(demo_totp_secret(username)).now()
            variables = {"input": {"username": username, "password": DEMO_PASSWORD, "totpCode": code}}
            result = self.graphql(OPERATOR_SIGN_IN, variables)["operatorSignIn"]
            assert result["__typename"] == "OperatorAuthPayload", result
            self._operator_tokens[username] = result["accessToken"]
        return self._operator_tokens[username]

    def handle(self, department: str, operation: str, application_id: str, **values: Any) -> dict[str, Any]:
        """One step of the department's case handler that must succeed; returns the case."""
        query = f"mutation H($input: {HANDLING_INPUTS[operation]}!) {{ {operation}(input: $input) {{ {HANDLED} }} }}"
        token = self.operator_token(f"handler.{department}")
        result = self.graphql(query, {"input": {"applicationId": application_id, **values}}, token)[operation]
        assert result["__typename"] == "HandledApplication", result
        case: dict[str, Any] = result["application"]
        return case

    def application(self, application_id: str, token: str) -> dict[str, Any]:
        case: dict[str, Any] = self.graphql(APPLICATION, {"id": application_id}, token)["application"]
        return case

    def licenses(self, token: str) -> list[dict[str, Any]]:
        return [edge["node"] for edge in self.graphql(MY_LICENSES, token=token)["myLicenses"]["edges"]]

    def verify(self, qr_payload: str) -> dict[str, Any]:
        """What the seeded verifier app learns from a scanned payload (each token scans once)."""
        variables = {"input": {"token": qr_payload, "clientId": VERIFIER_CLIENT_ID, "credential": VERIFIER_CREDENTIAL}}
        result: dict[str, Any] = self.graphql(VERIFY, variables)["verifyLicenseToken"]
        return result

    def service_code(self, name: str) -> str:
        """The 实施编码 of a published item, found the way a resident finds it: by searching its name."""
        hits = self.graphql(SEARCH, {"q": name})["searchServices"]["edges"]
        services = [hit["node"]["service"] for hit in hits]
        codes: list[str] = [service["serviceCode"] for service in services if service["name"] == name]
        assert codes, f"no published item named {name}"
        return codes[0]

    def submit_by_sync(self, token: str, item: str, fields: dict[str, str]) -> str:
        """Another device of the resident's creates a draft and submits it at once; returns the application id."""
        code = self.service_code(item)
        form_version = self.graphql(GUIDE, {"code": code})["serviceGuide"]["formVersion"]
        draft = str(uuid.uuid4())
        ops = [
            {"path": path, "kind": "SET", "value": value, "baseHash": value_hash(None)}
            for path, value in fields.items()
        ]
        create = {"id": 1, "draftId": draft, "type": "CREATE_DRAFT", "serviceCode": code, "formVersion": form_version}
        submit = {"id": 2, "draftId": draft, "type": "SUBMIT", "formVersion": form_version}
        created = self._push(token, {**create, "ops": ops})
        assert created["status"] == "APPLIED", created
        submit |= {"baseDraftVersion": created["draftVersion"], "expectedContentHash": map_hash(fields)}
        submitted = self._push(token, submit)
        assert submitted["status"] == "APPLIED" and submitted["applicationId"], submitted
        application_id: str = submitted["applicationId"]
        return application_id

    def _push(self, token: str, mutation: dict[str, Any]) -> dict[str, Any]:
        # One client per draft here: mutation ids start at 1 for each new clientId.
        client = self._push_client.setdefault(mutation["draftId"], str(uuid.uuid4()))
        variables = {"input": {"clientId": client, "platform": "WEB", "protocolVersion": 1, "mutations": [mutation]}}
        answer = self.graphql(PUSH, variables, token)["syncPush"]
        assert "results" in answer, answer
        result: dict[str, Any] = answer["results"][0]
        return result
