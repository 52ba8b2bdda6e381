"""preview_segment, create_segment and the masking they use: counts at evaluation time, samples that never show
who exactly, refused DSL stored nowhere."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from api.models.notifications import Segment
from notifications.errors import NotificationsError, NotificationsErrorCode
from notifications.masking import mask_name, mask_phone
from notifications.segments import create_segment, preview_segment
from tests.notifications.segments.support import enterprise, fresh_district, licence, make_deps, person
from tests.support.client import LiveServer


class TestMaskName:
    @pytest.mark.parametrize(
        ("name", "masked"), [("张三", "张**"), ("欧阳娜娜", "欧**"), ("李", "李**"), ("", ""), (None, "")]
    )
    def test_keeps_the_first_character_only(self, name: str | None, masked: str) -> None:
        assert mask_name(name) == masked


class TestMaskPhone:
    @pytest.mark.parametrize(
        ("phone", "masked"), [("13812345678", "138****5678"), ("1381234", "****"), ("", ""), (None, "")]
    )
    def test_keeps_prefix_and_last_four(self, phone: str | None, masked: str) -> None:
        assert mask_phone(phone) == masked


class TestPreviewSegment:
    async def test_count_and_masked_sample(self, live: LiveServer) -> None:
        # given 12 residents aged 60+ in a fresh district and one younger
        deps = make_deps(live)
        district = fresh_district()
        for i in range(12):
            await person(district, born=date(1950, 1, 1), name="张三丰", mobile=f"1381234{i:04d}")
        await person(district, born=date(2000, 1, 1))
        dsl = {
            "all": [
                {"field": "resident.region_code", "op": "prefix", "value": district},
                {"field": "resident.age", "op": "gte", "value": 60},
            ]
        }
        # when
        preview = await preview_segment(deps, dsl)
        # then: the count of all, 10 masked rows, no ID numbers anywhere
        assert preview.count == 12
        assert len(preview.sample) == 10
        assert {(r.name, r.region_code) for r in preview.sample} == {("张**", f"{district}000000")}
        assert all(r.phone.startswith("138****") and len(r.phone) == 11 for r in preview.sample)
        assert set(vars(preview.sample[0])) == {"name", "phone", "region_code"}

    async def test_enterprise_sample_shows_the_public_name_and_a_masked_contact(self, live: LiveServer) -> None:
        deps = make_deps(live)
        district = fresh_district()
        company = await enterprise(district, await person(district, mobile="13912345678"))
        preview = await preview_segment(deps, {"field": "enterprise.region_code", "op": "prefix", "value": district})
        assert preview.count == 1
        assert [(r.name, r.phone) for r in preview.sample] == [(company.name, "139****5678")]

    async def test_licence_sample_masks_a_person_holder_and_shows_an_enterprise_holder(self, live: LiveServer) -> None:
        deps = make_deps(live)
        district = fresh_district()
        owner = await person(district, name="李四", mobile="13700001111")
        company = await enterprise(district, await person(district, mobile="13600002222"))
        await licence(district, date(2031, 3, 10), holder=owner)
        await licence(district, date(2031, 3, 10), holder=company)
        dsl = {
            "all": [
                {"field": "license.valid_to", "op": "between_days_from_today", "value": [7, 7]},
                {
                    "any": [
                        {"field": "resident.region_code", "op": "prefix", "value": district},
                        {"field": "enterprise.region_code", "op": "prefix", "value": district},
                    ]
                },
            ]
        }
        preview = await preview_segment(deps, dsl)  # the deps clock's local date is 2031-03-03
        assert preview.count == 2
        assert sorted((r.name, r.phone) for r in preview.sample) == sorted(
            [("李**", "137****1111"), (company.name, "136****2222")]
        )

    async def test_bad_dsl_is_a_typed_error(self, live: LiveServer) -> None:
        deps = make_deps(live)
        with pytest.raises(NotificationsError) as caught:
            await preview_segment(deps, {"field": "resident.id_number", "op": "eq", "value": "1"})
        assert (caught.value.error_code, caught.value.path) == (
            NotificationsErrorCode.INVALID_SEGMENT,
            ["dsl", "field"],
        )


class TestCreateSegment:
    async def test_stores_version_1_and_a_new_row_per_save(self, live: LiveServer) -> None:
        deps = make_deps(live)
        actor = uuid.uuid4()
        dsl = {"field": "resident.region_code", "op": "prefix", "value": fresh_district()}
        first = await create_segment(deps, actor, "高龄老人", dsl)
        second = await create_segment(deps, actor, "高龄老人", dsl)
        assert first.id != second.id
        stored = await Segment.filter(id__in=[first.id, second.id]).values_list("name", "version", "dsl", "created_by")
        assert sorted(stored, key=str) == [("高龄老人", 1, dsl, actor)] * 2

    async def test_refused_dsl_stores_nothing(self, live: LiveServer) -> None:
        deps = make_deps(live)
        actor = uuid.uuid4()
        with pytest.raises(NotificationsError) as caught:
            await create_segment(deps, actor, "bad", {"field": "resident.age", "op": "gte", "value": "60; drop"})
        assert caught.value.error_code is NotificationsErrorCode.INVALID_SEGMENT
        assert await Segment.filter(created_by=actor).count() == 0
