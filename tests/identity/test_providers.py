"""WeChat, Alipay and provincial SSO sign-in, trust transfer and explicit binding, through GraphQL over HTTP."""

from __future__ import annotations

import itertools
import random
import uuid
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from api import devsecrets
from api.kit.codes import id_number_check_char
from api.kit.pii import PiiCipher, mask_id_number
from api.models import AuthMethod, IdentityBinding, Person, Session, SessionChannel
from api.seed.context import seed_id
from tests.support.client import Api

PAYLOAD = """
accessToken refreshToken sessionId newAccount
me { id name sessionLevel assuranceLevel maskedIdNumber bindings { provider subjectHint } }
"""
WECHAT = f"""
mutation W($input: SignInWithWechatInput!) {{
  signInWithWechat(input: $input) {{
    __typename
    ... on AuthPayload {{ {PAYLOAD} }}
    ... on Error {{ code message path }}
  }}
}}
"""
ALIPAY = f"""
mutation A($input: SignInWithAlipayInput!) {{
  signInWithAlipay(input: $input) {{
    __typename
    ... on AuthPayload {{ {PAYLOAD} }}
    ... on Error {{ code message path }}
  }}
}}
"""
START = """
mutation S($input: StartProvinceSignInInput!) {
  startProvinceSignIn(input: $input) {
    __typename
    ... on ProvinceSignInStarted { authorizationUrl state }
    ... on Error { code message }
  }
}
"""
COMPLETE = f"""
mutation C($input: CompleteProvinceSignInInput!) {{
  completeProvinceSignIn(input: $input) {{
    __typename
    ... on AuthPayload {{ {PAYLOAD} }}
    ... on Error {{ code message path }}
  }}
}}
"""
BIND_WECHAT = """
mutation B($input: BindWechatInput!) {
  bindWechat(input: $input) {
    __typename
    ... on Me { id bindings { provider subjectHint } }
    ... on Error { code message path }
  }
}
"""
BIND_ALIPAY = """
mutation B($input: BindAlipayInput!) {
  bindAlipay(input: $input) {
    __typename
    ... on Me { id bindings { provider subjectHint } }
    ... on Error { code message path }
  }
}
"""
ME = "query { me { id sessionLevel assuranceLevel bindings { provider subjectHint } } }"

_subjects = itertools.count(random.randrange(1, 10**9))


def fresh_subject(prefix: str) -> str:
    return f"{prefix}-{next(_subjects)}"


def fresh_alipay_user() -> str:
    return f"2089{next(_subjects) % 10**12:012d}"


def fresh_id_number() -> str:
    # Region 990199 is unassigned (domain.md §13) and the seed never uses it: no collision with a seeded person.
    n = next(_subjects)
    birth = date(1960, 1, 1) + timedelta(days=n % 15_000)
    first17 = f"990199{birth:%Y%m%d}{n % 1000:03d}"
    return first17 + id_number_check_char(first17)


def hint(subject: str) -> str:
    return f"{subject[:3]}…{subject[-2:]}"


def pii(api: Api) -> PiiCipher:
    secrets = devsecrets.load_or_create(api.live.settings.var_dir)
    return PiiCipher(secrets.pii_encryption_key, secrets.pii_hash_key)


async def wechat_code(api: Api, openid: str, unionid: str | None = None) -> str:
    body = {"openid": openid} | ({"unionid": unionid} if unionid else {})
    response = await api.http.post("/sandbox/wechat/codes", json=body)
    assert response.status_code == 200, response.text
    code: str = response.json()["code"]
    return code


async def alipay_code(api: Api, user_id: str) -> str:
    response = await api.http.post("/sandbox/alipay/auth-codes", json={"userId": user_id})
    assert response.status_code == 200, response.text
    code: str = response.json()["authCode"]
    return code


async def script(api: Api, sandbox: str, match: dict[str, Any], action: dict[str, Any]) -> None:
    response = await api.http.post(
        f"/sandbox/{sandbox}/_control/script", json={"match": match, "action": action, "times": 1}
    )
    assert response.status_code == 201, response.text


async def with_wechat(api: Api, code: str) -> dict[str, Any]:
    result: dict[str, Any] = (await api.data(WECHAT, {"input": {"code": code}}))["signInWithWechat"]
    return result


async def with_alipay(api: Api, auth_code: str) -> dict[str, Any]:
    result: dict[str, Any] = (await api.data(ALIPAY, {"input": {"authCode": auth_code}}))["signInWithAlipay"]
    return result


async def start_sso(api: Api) -> tuple[str, dict[str, str]]:
    started = (await api.data(START, {"input": {}}))["startProvinceSignIn"]
    assert started["__typename"] == "ProvinceSignInStarted", started
    params = dict(parse_qsl(urlsplit(started["authorizationUrl"]).query))
    state: str = started["state"]
    return state, params


async def idp_code(
    api: Api, params: dict[str, str], *, subject: str, name: str, id_number: str, authlevel: str = "3"
) -> str:
    """What the browser brings back after the person signs in at the IdP for the pending request `params`."""
    body = params | {"subject": subject, "name": name, "idNumber": id_number, "idType": "1", "authlevel": authlevel}
    response = await api.http.post("/sandbox/idp/_control/authorize", json=body)
    assert response.status_code == 200, response.text
    code: str = response.json()["code"]
    return code


async def sso_code(api: Api, *, subject: str, name: str, id_number: str, authlevel: str = "3") -> tuple[str, str]:
    state, params = await start_sso(api)
    code = await idp_code(api, params, subject=subject, name=name, id_number=id_number, authlevel=authlevel)
    return code, state


async def complete(api: Api, code: str, state: str, *, link: bool = False, token: str | None = None) -> dict[str, Any]:
    variables = {"input": {"code": code, "state": state, "linkToCurrentAccount": link}}
    result: dict[str, Any] = (await api.data(COMPLETE, variables, token))["completeProvinceSignIn"]
    return result


async def bind_wechat(api: Api, token: str, code: str) -> dict[str, Any]:
    result: dict[str, Any] = (await api.data(BIND_WECHAT, {"input": {"code": code}}, token))["bindWechat"]
    return result


async def bind_alipay(api: Api, token: str, auth_code: str) -> dict[str, Any]:
    result: dict[str, Any] = (await api.data(BIND_ALIPAY, {"input": {"authCode": auth_code}}, token))["bindAlipay"]
    return result


async def counts() -> tuple[int, int, int]:
    return await Person.all().count(), await IdentityBinding.all().count(), await Session.all().count()


async def refused(api: Api, token: str) -> None:
    response = await api.post({"query": ME}, token)
    assert response.status_code == 401, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


class TestSignInWithWechat:
    async def test_a_new_openid_registers_an_l0_account_with_a_wechat_binding(self, api: Api) -> None:
        # given
        openid, unionid = fresh_subject("o-wx"), fresh_subject("u-wx")
        code = await wechat_code(api, openid, unionid)

        # when
        result = await with_wechat(api, code)

        # then
        assert result["__typename"] == "AuthPayload" and result["newAccount"] is True
        person = await Person.get(id=result["me"]["id"])
        assert int(person.assurance_level) == 0 and person.mobile is None and person.id_number_hash is None
        binding = await IdentityBinding.get(person_id=person.id)
        assert (binding.provider.value, binding.subject_id, binding.union_id) == ("WECHAT", openid, unionid)
        assert result["me"]["sessionLevel"] == "L0" and result["me"]["assuranceLevel"] == "L0"
        assert result["me"]["bindings"] == [{"provider": "WECHAT", "subjectHint": hint(openid)}]
        session = await Session.get(family_id=result["sessionId"])
        assert (session.auth_method, session.channel, int(session.assurance_level)) == (
            AuthMethod.WECHAT,
            SessionChannel.WECHAT_MP,
            0,
        )
        assert (await api.data(ME, token=result["accessToken"]))["me"]["id"] == str(person.id)

    async def test_the_same_openid_signs_into_the_same_account(self, api: Api) -> None:
        # given
        openid = fresh_subject("o-wx")
        first = await with_wechat(api, await wechat_code(api, openid))

        # when
        second = await with_wechat(api, await wechat_code(api, openid))

        # then
        assert second["__typename"] == "AuthPayload" and second["newAccount"] is False
        assert second["me"]["id"] == first["me"]["id"] and second["sessionId"] != first["sessionId"]
        assert await IdentityBinding.filter(provider="WECHAT", subject_id=openid).count() == 1

    async def test_a_seeded_openid_reaches_the_seeded_person(self, api: Api) -> None:
        # given: resident 6 is an L1 resident who signs in with WeChat
        before = await counts()

        # when
        result = await with_wechat(api, await wechat_code(api, "demo-openid-06", "demo-unionid-06"))

        # then
        assert result["__typename"] == "AuthPayload" and result["newAccount"] is False
        assert result["me"]["id"] == str(seed_id("person", 6))
        assert result["me"]["name"] == "杨演示六" and result["me"]["assuranceLevel"] == "L1"
        assert result["me"]["sessionLevel"] == "L1"  # possession carries the verified level, never above L2
        assert await counts() == (before[0], before[1], before[2] + 1)

    async def test_a_used_code_is_refused_and_creates_nothing(self, api: Api) -> None:
        # given
        code = await wechat_code(api, fresh_subject("o-wx"))
        assert (await with_wechat(api, code))["__typename"] == "AuthPayload"
        before = await counts()

        # when
        replay = await with_wechat(api, code)

        # then
        assert replay == {
            "__typename": "ProviderFailedError",
            "code": "WECHAT_CODE_INVALID",
            "message": "the WeChat login code is invalid or used",
            "path": None,
        }
        assert await counts() == before

    async def test_an_unknown_code_is_refused_and_creates_nothing(self, api: Api) -> None:
        # given
        before = await counts()

        # when
        result = await with_wechat(api, "never-issued-by-wechat")

        # then
        assert result["__typename"] == "ProviderFailedError" and result["code"] == "WECHAT_CODE_INVALID"
        assert await counts() == before

    async def test_a_wechat_outage_is_a_provider_failure_and_creates_nothing(self, api: Api) -> None:
        # given
        openid = fresh_subject("o-wx")
        code = await wechat_code(api, openid)
        await script(api, "wechat", {"path": "/sns/jscode2session", "js_code": code}, {"status": 500})
        before = await counts()

        # when
        result = await with_wechat(api, code)

        # then
        assert result == {
            "__typename": "ProviderFailedError",
            "code": "WECHAT_UNAVAILABLE",
            "message": "WeChat failed (HTTP 500)",
            "path": None,
        }
        assert await counts() == before
        assert await IdentityBinding.filter(subject_id=openid).count() == 0
        # WeChat never saw the code, so it still works once WeChat is back.
        assert (await with_wechat(api, code))["newAccount"] is True


class TestSignInWithAlipay:
    async def test_a_new_user_registers_an_l0_account_with_an_alipay_binding(self, api: Api) -> None:
        # given
        user_id = fresh_alipay_user()

        # when
        result = await with_alipay(api, await alipay_code(api, user_id))

        # then
        assert result["__typename"] == "AuthPayload" and result["newAccount"] is True
        person = await Person.get(id=result["me"]["id"])
        assert int(person.assurance_level) == 0 and person.mobile is None
        binding = await IdentityBinding.get(person_id=person.id)
        assert (binding.provider.value, binding.subject_id) == ("ALIPAY", user_id)
        assert result["me"]["bindings"] == [{"provider": "ALIPAY", "subjectHint": hint(user_id)}]
        assert result["me"]["sessionLevel"] == "L0"
        session = await Session.get(family_id=result["sessionId"])
        assert (session.auth_method, session.channel) == (AuthMethod.ALIPAY, SessionChannel.ALIPAY_MP)

    async def test_the_same_user_signs_into_the_same_account(self, api: Api) -> None:
        # given
        user_id = fresh_alipay_user()
        first = await with_alipay(api, await alipay_code(api, user_id))

        # when
        second = await with_alipay(api, await alipay_code(api, user_id))

        # then
        assert second["__typename"] == "AuthPayload" and second["newAccount"] is False
        assert second["me"]["id"] == first["me"]["id"]
        assert await IdentityBinding.filter(provider="ALIPAY", subject_id=user_id).count() == 1

    async def test_a_seeded_user_reaches_the_seeded_person(self, api: Api) -> None:
        # given: resident 8 is an L2 resident who signs in with Alipay
        before = await counts()

        # when
        result = await with_alipay(api, await alipay_code(api, "2088000000000008"))

        # then
        assert result["__typename"] == "AuthPayload" and result["newAccount"] is False
        assert result["me"]["id"] == str(seed_id("person", 8))
        assert result["me"]["sessionLevel"] == "L2" and result["me"]["assuranceLevel"] == "L2"
        assert await counts() == (before[0], before[1], before[2] + 1)

    async def test_a_used_code_is_refused_and_creates_nothing(self, api: Api) -> None:
        # given
        code = await alipay_code(api, fresh_alipay_user())
        assert (await with_alipay(api, code))["__typename"] == "AuthPayload"
        before = await counts()

        # when
        replay = await with_alipay(api, code)

        # then
        assert replay == {
            "__typename": "ProviderFailedError",
            "code": "ALIPAY_ISV_CODE_INVALID",
            "message": "Alipay: 授权码code无效",
            "path": None,
        }
        assert await counts() == before

    async def test_an_unknown_code_is_refused_and_creates_nothing(self, api: Api) -> None:
        # given
        before = await counts()

        # when
        result = await with_alipay(api, "0123456789abcdef0123456789abcdef")

        # then
        assert result["__typename"] == "ProviderFailedError" and result["code"] == "ALIPAY_ISV_CODE_INVALID"
        assert await counts() == before

    async def test_a_reply_with_a_bad_signature_is_refused_and_creates_nothing(self, api: Api) -> None:
        # given: the gateway answers for the right user, but the signature covers other content
        user_id = fresh_alipay_user()
        code = await alipay_code(api, user_id)
        await script(api, "alipay", {"code": code}, {"badSignature": True})
        before = await counts()

        # when
        result = await with_alipay(api, code)

        # then
        assert result == {
            "__typename": "ProviderFailedError",
            "code": "ALIPAY_BAD_SIGNATURE",
            "message": "Alipay's answer failed signature verification",
            "path": None,
        }
        assert await counts() == before
        assert await IdentityBinding.filter(subject_id=user_id).count() == 0

    async def test_an_alipay_outage_is_a_provider_failure_and_creates_nothing(self, api: Api) -> None:
        # given
        code = await alipay_code(api, fresh_alipay_user())
        await script(api, "alipay", {"code": code}, {"status": 500})
        before = await counts()

        # when
        result = await with_alipay(api, code)

        # then
        assert result["__typename"] == "ProviderFailedError" and result["code"] == "ALIPAY_UNAVAILABLE"
        assert await counts() == before


class TestStartProvinceSignIn:
    async def test_returns_an_authorization_url_with_state_nonce_and_pkce(self, api: Api) -> None:
        # when
        started = (await api.data(START, {"input": {}}))["startProvinceSignIn"]

        # then
        assert started["__typename"] == "ProvinceSignInStarted"
        url = urlsplit(started["authorizationUrl"])
        params = dict(parse_qsl(url.query))
        assert f"{url.scheme}://{url.netloc}{url.path}" == f"{api.live.base_url}/sandbox/idp/authorize"
        assert params["state"] == started["state"] and len(started["state"]) >= 32
        assert params["response_type"] == "code" and params["code_challenge_method"] == "S256"
        assert params["client_id"] == api.live.settings.province_sso.client_id
        assert params["redirect_uri"] == api.live.settings.province_sso.redirect_uri
        assert len(params["nonce"]) >= 32 and len(params["code_challenge"]) == 43
        assert "openid" in params["scope"].split()

    async def test_each_start_has_its_own_state_and_nonce(self, api: Api) -> None:
        # when
        first, second = await start_sso(api), await start_sso(api)

        # then
        assert first[0] != second[0] and first[1]["nonce"] != second[1]["nonce"]
        assert first[1]["code_challenge"] != second[1]["code_challenge"]


class TestCompleteProvinceSignIn:
    async def test_a_high_level_identity_creates_an_l2_account_with_the_id_number_encrypted(self, api: Api) -> None:
        # given
        subject, id_number = fresh_subject("sso"), fresh_id_number()
        code, state = await sso_code(api, subject=subject, name="钱演示测", id_number=id_number, authlevel="3")

        # when
        result = await complete(api, code, state)

        # then
        assert result["__typename"] == "AuthPayload" and result["newAccount"] is True
        assert result["me"]["sessionLevel"] == "L2" and result["me"]["assuranceLevel"] == "L2"
        assert result["me"]["name"] == "钱演示测" and result["me"]["maskedIdNumber"] == mask_id_number(id_number)
        assert result["me"]["bindings"] == [{"provider": "PROVINCE_SSO", "subjectHint": hint(subject)}]
        person = await Person.get(id=result["me"]["id"])
        assert int(person.assurance_level) == 2 and person.verified_by == "LINKED_PLATFORM"
        assert person.id_number_encrypted is not None and id_number not in person.id_number_encrypted
        assert pii(api).decrypt(person.id_number_encrypted) == id_number
        assert person.id_number_hash == pii(api).lookup_hash(id_number) and person.id_type == "111"
        binding = await IdentityBinding.get(person_id=person.id)
        assert (binding.provider.value, binding.subject_id, binding.raw_level) == ("PROVINCE_SSO", subject, "3")
        session = await Session.get(family_id=result["sessionId"])
        assert (session.auth_method, int(session.assurance_level)) == (AuthMethod.PROVINCE_SSO, 2)

    async def test_a_primary_real_name_identity_is_l1(self, api: Api) -> None:
        # given
        code, state = await sso_code(
            api, subject=fresh_subject("sso"), name="孙演示测", id_number=fresh_id_number(), authlevel="2"
        )

        # when
        result = await complete(api, code, state)

        # then
        assert result["me"]["sessionLevel"] == "L1" and result["me"]["assuranceLevel"] == "L1"

    async def test_a_non_real_name_identity_stays_l0_and_its_id_number_is_not_kept(self, api: Api) -> None:
        # given
        code, state = await sso_code(
            api, subject=fresh_subject("sso"), name="周演示测", id_number=fresh_id_number(), authlevel="1"
        )

        # when
        result = await complete(api, code, state)

        # then
        assert result["me"]["sessionLevel"] == "L0" and result["me"]["maskedIdNumber"] is None
        person = await Person.get(id=result["me"]["id"])
        assert person.id_number_hash is None and person.id_number_encrypted is None and person.name == ""

    async def test_a_malformed_id_number_proves_nothing_and_is_not_kept(self, api: Api) -> None:
        # given: a high real-name claim naming an ID number whose check digit is wrong
        valid = fresh_id_number()
        malformed = valid[:17] + ("0" if valid[17] != "0" else "1")
        code, state = await sso_code(api, subject=fresh_subject("sso"), name="周演示误", id_number=malformed)

        # when
        result = await complete(api, code, state)

        # then
        assert result["me"]["sessionLevel"] == "L0" and result["me"]["assuranceLevel"] == "L0"
        person = await Person.get(id=result["me"]["id"])
        assert person.id_number_hash is None and person.id_number_encrypted is None

    async def test_the_same_subject_signs_into_the_same_account(self, api: Api) -> None:
        # given
        subject, id_number = fresh_subject("sso"), fresh_id_number()
        first = await complete(api, *await sso_code(api, subject=subject, name="吴演示测", id_number=id_number))

        # when
        second = await complete(api, *await sso_code(api, subject=subject, name="吴演示测", id_number=id_number))

        # then
        assert second["__typename"] == "AuthPayload" and second["newAccount"] is False
        assert second["me"]["id"] == first["me"]["id"]
        assert await IdentityBinding.filter(provider="PROVINCE_SSO", subject_id=subject).count() == 1

    async def test_a_state_works_once(self, api: Api) -> None:
        # given
        subject, id_number = fresh_subject("sso"), fresh_id_number()
        state, params = await start_sso(api)
        first = await idp_code(api, params, subject=subject, name="郑演示测", id_number=id_number)
        assert (await complete(api, first, state))["__typename"] == "AuthPayload"
        second = await idp_code(api, params, subject=subject, name="郑演示测", id_number=id_number)
        before = await counts()

        # when
        replay = await complete(api, second, state)

        # then
        assert replay == {
            "__typename": "InvalidInputError",
            "code": "SSO_STATE_INVALID",
            "message": "unknown or expired sign-in state; start again",
            "path": ["state"],
        }
        assert await counts() == before

    async def test_an_unknown_state_is_refused_and_the_code_is_not_spent(self, api: Api) -> None:
        # given
        subject = fresh_subject("sso")
        code, state = await sso_code(api, subject=subject, name="冯演示测", id_number=fresh_id_number())
        before = await counts()

        # when
        result = await complete(api, code, "a-state-this-server-never-issued")

        # then
        assert result["__typename"] == "InvalidInputError" and result["code"] == "SSO_STATE_INVALID"
        assert await counts() == before
        assert (await complete(api, code, state))["__typename"] == "AuthPayload"

    async def test_the_state_of_another_sign_in_is_refused(self, api: Api) -> None:
        # given: two sign-ins started; the code of the first is brought back with the state of the second
        subject = fresh_subject("sso")
        _, params = await start_sso(api)
        other_state, _ = await start_sso(api)
        code = await idp_code(api, params, subject=subject, name="褚演示测", id_number=fresh_id_number())
        before = await counts()

        # when
        result = await complete(api, code, other_state)

        # then: the second sign-in's PKCE verifier does not match the first's challenge
        assert result == {
            "__typename": "InvalidInputError",
            "code": "SSO_CODE_INVALID",
            "message": "the sign-in code is invalid, expired or used",
            "path": ["code"],
        }
        assert await counts() == before
        assert await IdentityBinding.filter(subject_id=subject).count() == 0

    async def test_a_token_for_another_nonce_is_refused(self, api: Api) -> None:
        # given: the IdP is asked with a nonce other than the one this server issued
        subject = fresh_subject("sso")
        state, params = await start_sso(api)
        params["nonce"] = "replayed-from-another-browser-session"
        code = await idp_code(api, params, subject=subject, name="卫演示测", id_number=fresh_id_number())
        before = await counts()

        # when
        result = await complete(api, code, state)

        # then
        assert result["__typename"] == "InvalidInputError" and result["code"] == "SSO_TOKEN_INVALID"
        assert result["path"] == ["code"] and "nonce mismatch" in result["message"]
        assert await counts() == before

    async def test_a_code_for_another_pkce_challenge_is_refused(self, api: Api) -> None:
        # given
        subject = fresh_subject("sso")
        state, params = await start_sso(api)
        params["code_challenge"] = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        code = await idp_code(api, params, subject=subject, name="蒋演示测", id_number=fresh_id_number())
        before = await counts()

        # when
        result = await complete(api, code, state)

        # then
        assert result["__typename"] == "InvalidInputError" and result["code"] == "SSO_CODE_INVALID"
        assert await counts() == before


class TestTrustTransfer:
    async def test_a_verified_id_number_reaches_the_person_who_holds_it(self, api: Api) -> None:
        # given: resident 13 (L2) has never used the provincial platform
        resident = await Person.get(id=seed_id("person", 13))
        assert resident.id_number_encrypted is not None
        id_number = pii(api).decrypt(resident.id_number_encrypted)
        subject = fresh_subject("sso")
        code, state = await sso_code(api, subject=subject, name=resident.name, id_number=id_number)
        persons = await Person.all().count()

        # when
        result = await complete(api, code, state)

        # then
        assert result["__typename"] == "AuthPayload" and result["newAccount"] is False
        assert result["me"]["id"] == str(resident.id) and result["me"]["sessionLevel"] == "L2"
        assert await Person.all().count() == persons
        binding = await IdentityBinding.get(provider="PROVINCE_SSO", subject_id=subject)
        assert binding.person_id == resident.id  # type: ignore[attr-defined]

    async def test_an_unverified_identity_never_joins_by_id_number(self, api: Api) -> None:
        # given: a 非实名 (authlevel 1) identity claims resident 14's ID number
        resident = await Person.get(id=seed_id("person", 14))
        assert resident.id_number_encrypted is not None
        id_number = pii(api).decrypt(resident.id_number_encrypted)
        code, state = await sso_code(
            api, subject=fresh_subject("sso"), name=resident.name, id_number=id_number, authlevel="1"
        )

        # when
        result = await complete(api, code, state)

        # then
        assert result["__typename"] == "AuthPayload" and result["newAccount"] is True
        assert result["me"]["id"] != str(resident.id)
        assert await IdentityBinding.filter(person_id=resident.id, provider="PROVINCE_SSO").count() == 0

    async def test_a_verified_id_number_held_by_another_account_is_refused_on_an_upgrade(self, api: Api) -> None:
        # given: a subject first signed in unverified (its own account); the platform now vouches for resident 16
        subject = fresh_subject("sso")
        resident = await Person.get(id=seed_id("person", 16))
        assert resident.id_number_encrypted is not None
        id_number = pii(api).decrypt(resident.id_number_encrypted)
        first = await complete(
            api, *await sso_code(api, subject=subject, name=resident.name, id_number=id_number, authlevel="1")
        )
        code, state = await sso_code(api, subject=subject, name=resident.name, id_number=id_number, authlevel="3")
        before = await counts()

        # when
        result = await complete(api, code, state)

        # then: two accounts are never joined silently, and nothing changed
        assert result == {
            "__typename": "ConflictError",
            "code": "IDENTITY_MISMATCH",
            "message": "this ID number belongs to another account",
            "path": None,
        }
        assert await counts() == before
        unverified = await Person.get(id=first["me"]["id"])
        assert int(unverified.assurance_level) == 0 and unverified.id_number_hash is None
        binding = await IdentityBinding.get(provider="PROVINCE_SSO", subject_id=subject)
        assert binding.raw_level == "1"


class TestLinkToCurrentAccount:
    async def test_links_the_identity_to_the_signed_in_person_and_raises_the_level(self, api: Api) -> None:
        # given
        session = await api.sign_in()
        subject, id_number = fresh_subject("sso"), fresh_id_number()
        code, state = await sso_code(api, subject=subject, name="秦演示测", id_number=id_number)

        # when
        result = await complete(api, code, state, link=True, token=session.access_token)

        # then
        assert result["__typename"] == "AuthPayload" and result["newAccount"] is False
        assert result["me"]["id"] == session.person_id
        assert result["me"]["assuranceLevel"] == "L2" and result["me"]["sessionLevel"] == "L2"
        person = await Person.get(id=session.person_id)
        assert person.id_number_hash == pii(api).lookup_hash(id_number) and person.mobile == session.phone
        me = (await api.data(ME, token=result["accessToken"]))["me"]
        assert sorted(b["provider"] for b in me["bindings"]) == ["APP", "PROVINCE_SSO"]

    async def test_the_id_number_of_another_account_is_refused_and_nothing_changes(self, api: Api) -> None:
        # given: resident 15's ID number, brought by someone else's session
        session = await api.sign_in()
        resident = await Person.get(id=seed_id("person", 15))
        assert resident.id_number_encrypted is not None
        id_number = pii(api).decrypt(resident.id_number_encrypted)
        subject = fresh_subject("sso")
        code, state = await sso_code(api, subject=subject, name=resident.name, id_number=id_number)
        before = await counts()

        # when
        result = await complete(api, code, state, link=True, token=session.access_token)

        # then
        assert result == {
            "__typename": "ConflictError",
            "code": "IDENTITY_MISMATCH",
            "message": "this ID number belongs to another account",
            "path": None,
        }
        assert await counts() == before
        person = await Person.get(id=session.person_id)
        assert int(person.assurance_level) == 0 and person.id_number_hash is None
        assert await IdentityBinding.filter(subject_id=subject).count() == 0

    async def test_a_subject_bound_to_another_account_is_refused(self, api: Api) -> None:
        # given: demo-sso-07 belongs to resident 7
        session = await api.sign_in()
        resident = await Person.get(id=seed_id("person", 7))
        assert resident.id_number_encrypted is not None
        id_number = pii(api).decrypt(resident.id_number_encrypted)
        code, state = await sso_code(api, subject="demo-sso-07", name=resident.name, id_number=id_number)
        before = await counts()

        # when
        result = await complete(api, code, state, link=True, token=session.access_token)

        # then
        assert result["__typename"] == "ConflictError" and result["code"] == "IDENTITY_ALREADY_BOUND"
        assert await counts() == before
        binding = await IdentityBinding.get(provider="PROVINCE_SSO", subject_id="demo-sso-07")
        assert binding.person_id == resident.id  # type: ignore[attr-defined]

    async def test_linking_needs_a_signed_in_caller(self, api: Api) -> None:
        # given
        code, state = await sso_code(api, subject=fresh_subject("sso"), name="尤演示测", id_number=fresh_id_number())
        before = await counts()

        # when
        result = await complete(api, code, state, link=True)

        # then
        assert result == {
            "__typename": "InvalidInputError",
            "code": "NOT_SIGNED_IN",
            "message": "sign in first to link an identity",
            "path": ["linkToCurrentAccount"],
        }
        assert await counts() == before


class TestBindWechat:
    async def test_binds_from_an_sms_session_and_me_shows_it(self, api: Api) -> None:
        # given
        session = await api.sign_in()
        openid = fresh_subject("o-wx")

        # when
        result = await bind_wechat(api, session.access_token, await wechat_code(api, openid))

        # then
        assert result["__typename"] == "Me" and result["id"] == session.person_id
        expected = [
            {"provider": "APP", "subjectHint": session.phone[:3] + "****" + session.phone[-4:]},
            {"provider": "WECHAT", "subjectHint": hint(openid)},
        ]
        assert result["bindings"] == expected
        assert (await api.data(ME, token=session.access_token))["me"]["bindings"] == expected
        signed = await with_wechat(api, await wechat_code(api, openid))
        assert signed["me"]["id"] == session.person_id and signed["newAccount"] is False

    async def test_merges_a_bare_wechat_account_and_ends_its_sessions(self, api: Api) -> None:
        # given: someone signed in with WeChat alone, then proves their phone and binds the same WeChat
        openid = fresh_subject("o-wx")
        bare = await with_wechat(api, await wechat_code(api, openid))
        session = await api.sign_in()
        persons = await Person.all().count()

        # when
        result = await bind_wechat(api, session.access_token, await wechat_code(api, openid))

        # then
        assert result["__typename"] == "Me" and result["id"] == session.person_id
        binding = await IdentityBinding.get(provider="WECHAT", subject_id=openid)
        assert binding.person_id == uuid.UUID(session.person_id)  # type: ignore[attr-defined]
        merged = await Person.get(id=bare["me"]["id"])
        assert merged.merged_into_id == uuid.UUID(session.person_id)
        assert await Person.all().count() == persons
        await refused(api, bare["accessToken"])
        assert await Session.filter(family_id=bare["sessionId"], revoked_at=None).count() == 0
        assert (await with_wechat(api, await wechat_code(api, openid)))["me"]["id"] == session.person_id

    async def test_an_identity_of_a_richer_account_is_refused_and_nothing_changes(self, api: Api) -> None:
        # given: demo-openid-03 belongs to resident 3, who has a phone and is L2
        session = await api.sign_in()
        before = await counts()

        # when
        result = await bind_wechat(api, session.access_token, await wechat_code(api, "demo-openid-03"))

        # then
        assert result == {
            "__typename": "ConflictError",
            "code": "IDENTITY_ALREADY_BOUND",
            "message": "this identity belongs to another account",
            "path": None,
        }
        assert await counts() == before
        binding = await IdentityBinding.get(provider="WECHAT", subject_id="demo-openid-03")
        assert binding.person_id == seed_id("person", 3)  # type: ignore[attr-defined]
        assert (await Person.get(id=seed_id("person", 3))).merged_into_id is None
        assert await IdentityBinding.filter(person_id=session.person_id, provider="WECHAT").count() == 0

    async def test_a_second_wechat_identity_is_refused(self, api: Api) -> None:
        # given
        session = await api.sign_in()
        first = fresh_subject("o-wx")
        await bind_wechat(api, session.access_token, await wechat_code(api, first))
        second = fresh_subject("o-wx")
        before = await counts()

        # when
        result = await bind_wechat(api, session.access_token, await wechat_code(api, second))

        # then
        assert result == {
            "__typename": "ConflictError",
            "code": "PROVIDER_ALREADY_BOUND",
            "message": "your account already has a WECHAT identity",
            "path": None,
        }
        assert await counts() == before
        assert await IdentityBinding.filter(subject_id=second).count() == 0

    async def test_binding_ones_own_identity_again_changes_nothing(self, api: Api) -> None:
        # given
        session = await api.sign_in()
        openid = fresh_subject("o-wx")
        await bind_wechat(api, session.access_token, await wechat_code(api, openid))
        before = await counts()

        # when
        result = await bind_wechat(api, session.access_token, await wechat_code(api, openid))

        # then
        assert result["__typename"] == "Me" and [b["provider"] for b in result["bindings"]] == ["APP", "WECHAT"]
        assert await counts() == before


class TestBindAlipay:
    async def test_binds_from_an_sms_session(self, api: Api) -> None:
        # given
        session = await api.sign_in()
        user_id = fresh_alipay_user()

        # when
        result = await bind_alipay(api, session.access_token, await alipay_code(api, user_id))

        # then
        assert result["__typename"] == "Me" and result["id"] == session.person_id
        assert result["bindings"][1:] == [{"provider": "ALIPAY", "subjectHint": hint(user_id)}]
        binding = await IdentityBinding.get(provider="ALIPAY", subject_id=user_id)
        assert binding.person_id == uuid.UUID(session.person_id)  # type: ignore[attr-defined]

    async def test_a_bare_wechat_session_may_not_bind(self, api: Api) -> None:
        # given: an L0 account that only ever signed in with WeChat
        wechat = await with_wechat(api, await wechat_code(api, fresh_subject("o-wx")))
        user_id = fresh_alipay_user()
        before = await counts()

        # when
        result = await bind_alipay(api, wechat["accessToken"], await alipay_code(api, user_id))

        # then
        assert result == {
            "__typename": "ForbiddenError",
            "code": "BIND_NEEDS_STRONG_SIGN_IN",
            "message": "sign in with your phone or the provincial identity platform before binding",
            "path": None,
        }
        assert await counts() == before
        assert await IdentityBinding.filter(subject_id=user_id).count() == 0

    async def test_merges_a_bare_alipay_account(self, api: Api) -> None:
        # given
        user_id = fresh_alipay_user()
        bare = await with_alipay(api, await alipay_code(api, user_id))
        session = await api.sign_in()

        # when
        result = await bind_alipay(api, session.access_token, await alipay_code(api, user_id))

        # then
        assert result["__typename"] == "Me" and result["id"] == session.person_id
        assert (await Person.get(id=bare["me"]["id"])).merged_into_id == uuid.UUID(session.person_id)
        await refused(api, bare["accessToken"])

    async def test_an_identity_of_a_richer_account_is_refused(self, api: Api) -> None:
        # given: 2088000000000012 belongs to resident 12
        session = await api.sign_in()
        before = await counts()

        # when
        result = await bind_alipay(api, session.access_token, await alipay_code(api, "2088000000000012"))

        # then
        assert result["__typename"] == "ConflictError" and result["code"] == "IDENTITY_ALREADY_BOUND"
        assert await counts() == before
        binding = await IdentityBinding.get(provider="ALIPAY", subject_id="2088000000000012")
        assert binding.person_id == seed_id("person", 12)  # type: ignore[attr-defined]
