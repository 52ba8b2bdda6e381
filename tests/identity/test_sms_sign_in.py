"""Phone + SMS one-time code: requestSmsCode and signInWithSms, through GraphQL over HTTP."""

from __future__ import annotations

from datetime import timedelta

from api.models import IdentityBinding, Person, Session
from tests.support.client import REQUEST_CODE, SIGN_IN, Api, fresh_phone

ME = "query { me { id maskedMobile assuranceLevel sessionLevel bindings { provider subjectHint } } }"


async def _sign_in(api: Api, phone: str, code: str) -> dict[str, object]:
    result: dict[str, object] = (await api.data(SIGN_IN, {"input": {"phone": phone, "code": code}}))["signInWithSms"]
    return result


class TestRequestSmsCode:
    async def test_sends_a_six_digit_code_to_the_sandbox(self, api: Api) -> None:
        phone = fresh_phone()
        result = (await api.data(REQUEST_CODE, {"input": {"phone": phone}}))["requestSmsCode"]
        assert result == {"__typename": "SmsCodeSent", "expiresInSeconds": 300, "resendAfterSeconds": 60}
        messages = await api.sms_messages(phone)
        assert len(messages) == 1
        assert messages[0]["params"]["code"].isdigit() and len(messages[0]["params"]["code"]) == 6

    async def test_accepts_a_plus86_prefix(self, api: Api) -> None:
        phone = fresh_phone()
        result = (await api.data(REQUEST_CODE, {"input": {"phone": f"+86 {phone}"}}))["requestSmsCode"]
        assert result["__typename"] == "SmsCodeSent"
        assert len(await api.sms_messages(phone)) == 1

    async def test_refuses_a_malformed_phone_and_sends_nothing(self, api: Api) -> None:
        for bad in ("12345", "2" + fresh_phone()[1:], "1700000000a", ""):
            result = (await api.data(REQUEST_CODE, {"input": {"phone": bad}}))["requestSmsCode"]
            assert result["__typename"] == "InvalidInputError"
            assert result["code"] == "INVALID_PHONE" and result["path"] == ["phone"]
        assert await api.sms_messages("12345") == []

    async def test_throttles_a_resend_to_the_same_phone(self, api: Api) -> None:
        phone = fresh_phone()
        await api.request_code(phone)
        again = (await api.data(REQUEST_CODE, {"input": {"phone": phone}}))["requestSmsCode"]
        assert again["__typename"] == "RateLimitedError"
        assert 0 < again["retryAfterMs"] <= 60_000
        assert len(await api.sms_messages(phone)) == 1

    async def test_caps_codes_per_phone_per_hour(self, api: Api) -> None:
        phone = fresh_phone()
        for _ in range(5):
            await api.request_code(phone)
            api.live.clock.advance(timedelta(seconds=61))
        sixth = (await api.data(REQUEST_CODE, {"input": {"phone": phone}}))["requestSmsCode"]
        assert sixth["__typename"] == "RateLimitedError"
        assert len(await api.sms_messages(phone)) == 5

    async def test_caps_codes_per_ip_per_hour(self, api: Api) -> None:
        for _ in range(30):
            await api.request_code(fresh_phone())
        blocked = fresh_phone()
        result = (await api.data(REQUEST_CODE, {"input": {"phone": blocked}}))["requestSmsCode"]
        assert result["__typename"] == "RateLimitedError"
        assert await api.sms_messages(blocked) == []


class TestSignInWithSms:
    async def test_registers_a_new_person_at_l0_with_an_app_binding(self, api: Api) -> None:
        phone = fresh_phone()
        code = await api.request_code(phone)
        result = await _sign_in(api, phone, code)
        assert result["__typename"] == "AuthPayload" and result["newAccount"] is True
        person = await Person.get(mobile=phone)
        assert int(person.assurance_level) == 0
        assert await IdentityBinding.filter(person_id=person.id, provider="APP", subject_id=phone).count() == 1
        me = (await api.data(ME, token=str(result["accessToken"])))["me"]
        assert me["id"] == str(person.id)
        assert me["maskedMobile"] == phone[:3] + "****" + phone[-4:]
        assert me["bindings"] == [{"provider": "APP", "subjectHint": phone[:3] + "****" + phone[-4:]}]

    async def test_signs_the_same_phone_into_the_same_account(self, api: Api) -> None:
        first = await api.sign_in()
        api.live.clock.advance(timedelta(seconds=61))
        second = await api.sign_in(first.phone)
        assert second.person_id == first.person_id
        assert second.session_id != first.session_id
        assert await Person.filter(mobile=first.phone).count() == 1

    async def test_a_code_works_once(self, api: Api) -> None:
        phone = fresh_phone()
        code = await api.request_code(phone)
        assert (await _sign_in(api, phone, code))["__typename"] == "AuthPayload"
        replay = await _sign_in(api, phone, code)
        assert replay["__typename"] == "OtpRejectedError" and replay["code"] == "INVALID_CODE"
        assert await Session.filter(person_id=(await Person.get(mobile=phone)).id).count() == 1

    async def test_six_wrong_codes_lock_the_code_and_change_nothing(self, api: Api) -> None:
        phone = fresh_phone()
        code = await api.request_code(phone)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        left = []
        for _ in range(5):
            result = await _sign_in(api, phone, wrong)
            assert result["__typename"] == "OtpRejectedError" and result["code"] == "INVALID_CODE"
            left.append(result["attemptsLeft"])
        assert left == [4, 3, 2, 1, 0]
        sixth = await _sign_in(api, phone, code)  # even the right code is refused now
        assert sixth["__typename"] == "OtpRejectedError" and sixth["code"] == "TOO_MANY_ATTEMPTS"
        assert await Person.filter(mobile=phone).count() == 0

    async def test_a_code_for_another_phone_is_refused(self, api: Api) -> None:
        phone, other = fresh_phone(), fresh_phone()
        code = await api.request_code(phone)
        result = await _sign_in(api, other, code)
        assert result["__typename"] == "OtpRejectedError" and result["code"] == "INVALID_CODE"
        assert await Person.filter(mobile__in=[phone, other]).count() == 0
        assert (await _sign_in(api, phone, code))["__typename"] == "AuthPayload"

    async def test_an_expired_code_is_refused(self, api: Api) -> None:
        phone = fresh_phone()
        code = await api.request_code(phone)
        api.live.clock.advance(timedelta(minutes=5, seconds=1))
        result = await _sign_in(api, phone, code)
        assert result["__typename"] == "OtpRejectedError" and result["code"] == "CODE_EXPIRED"
        assert await Person.filter(mobile=phone).count() == 0

    async def test_a_malformed_phone_is_refused(self, api: Api) -> None:
        result = await _sign_in(api, "not-a-phone", "123456")
        assert result == {
            "__typename": "InvalidInputError",
            "code": "INVALID_PHONE",
            "message": "not a mainland mobile number",
            "path": ["phone"],
        }
