"""Each check of the mini-programs can fail: copies broken on purpose, and exactly the problem each one reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from graphql import GraphQLSchema

from tests.client.damage import new_problems, replace_in
from tests.client.mini_program_checks import (
    SHARED_VENDORED,
    VENDORED,
    WECHAT,
    Platform,
    check_app_structure,
    check_graphql,
    check_imports,
    check_network_calls,
    check_registrations,
    check_shared,
    check_templates,
)


def test_missing_page_file_is_reported(broken: Path, platform: Platform) -> None:
    (broken / "pages" / "pay" / f"pay.{platform.style_ext}").unlink()
    assert check_app_structure(broken, platform) == [f"pages/pay/pay.{platform.style_ext}: missing"]


def test_unlisted_tab_page_and_missing_required_page_are_reported(broken: Path, platform: Platform) -> None:
    app = json.loads((broken / "app.json").read_text(encoding="utf-8"))
    app["pages"].remove("pages/rate/rate")
    app["tabBar"][platform.tab_items_key][0]["pagePath"] = "pages/nowhere/nowhere"
    (broken / "app.json").write_text(json.dumps(app), encoding="utf-8")
    problems = check_app_structure(broken, platform)
    assert "app.json: required page rate not listed" in problems
    assert "app.json: tabBar page pages/nowhere/nowhere is not in pages" in problems


def test_unparseable_app_json_is_reported(broken: Path, platform: Platform) -> None:
    (broken / "app.json").write_text('{"pages": [', encoding="utf-8")
    assert check_app_structure(broken, platform)[0].startswith("app.json: ")


def test_missing_page_registration_is_reported(broken: Path) -> None:
    replace_in(broken / "pages" / "inbox" / "inbox.js", "Page(inboxPage(ui));", "const notAPage = inboxPage(ui);")
    replace_in(broken / "app.js", "App(defineApp({", "const notAnApp = defineApp({")
    assert check_registrations(broken) == ["app.js: no App({...}) call", "pages/inbox/inbox.js: no Page({...}) call"]


def test_inline_page_registration_is_still_resolved(broken: Path, platform: Platform) -> None:
    """A page may define itself inline; its handlers and data come from that literal, up to its closing `})`."""
    data = "".join(f"    {key}: null,\n" for key in ("bill", "order", "statusLabel", "paying", "cashierUrl"))
    (broken / "pages" / "pay" / "pay.js").write_text(
        f"Page({{\n  data: {{\n{data}  }},\n\n  pay() {{}},\n  checkAgain() {{}},\n  copyCashierUrl() {{}},\n}});\n"
        "\nconst notThePage = {\n  back() {},\n};\n",
        encoding="utf-8",
    )
    assert check_registrations(broken) == []
    event = "tap" if platform is WECHAT else "Tap"
    assert check_templates(broken, platform) == [
        f"pay.{platform.template_ext}: handler 'back' ({event}) is not a method of pages/pay/pay.js"
    ]


def test_unresolvable_shared_page_definition_is_reported(broken: Path) -> None:
    my_page = broken / "pages" / "my" / "my.js"
    replace_in(my_page, "import { myPage } from '../../lib/zsb-shared/pages/my.js';\n", "")
    replace_in(
        broken / "pages" / "search" / "search.js", "lib/zsb-shared/pages/search.js", "lib/zsb-shared/pages/serch.js"
    )
    replace_in(
        broken / SHARED_VENDORED / "pages" / "rate.js",
        "export const ratePage = (ui) => ({",
        "export const ratePage = {",
    )
    assert check_registrations(broken) == [
        "pages/my/my.js: Page(myPage(...)): myPage is not imported",
        "pages/search/search.js: Page(searchPage(...)): ../../lib/zsb-shared/pages/serch.js does not exist",
        "pages/rate/rate.js: Page(ratePage(...)): ../../lib/zsb-shared/pages/rate.js has no "
        "`export const ratePage = (ui) => ({...})`",
    ]


def test_container_globals_and_outside_imports_in_shared_code_are_reported(broken: Path) -> None:
    page = broken / SHARED_VENDORED / "pages" / "my.js"
    replace_in(page, "  onShow() {\n", "  onShow() {\n    wx.showToast({ title: getApp().x });\n")
    page.write_text("import { ui } from '../../../ui.js';\n// wx.request( in a comment is fine\n" + page.read_text())
    problems = check_shared(broken)
    line = page.read_text(encoding="utf-8").splitlines().index("    wx.showToast({ title: getApp().x });") + 1
    assert problems == [
        f"lib/zsb-shared/pages/my.js:{line}: container global wx in shared code (use the ui port)",
        f"lib/zsb-shared/pages/my.js:{line}: container global getApp in shared code (use the ui port)",
        "lib/zsb-shared/pages/my.js: import '../../../ui.js' leaves lib/zsb-shared/",
    ]


def test_undefined_handler_is_reported(broken: Path, platform: Platform) -> None:
    template = broken / "pages" / "pay" / f"pay.{platform.template_ext}"
    attribute = "bindtap" if platform is WECHAT else "onTap"
    replace_in(template, f'{attribute}="pay"', f'{attribute}="payTwice"')
    problems = check_templates(broken, platform)
    assert problems == [
        f"pay.{platform.template_ext}: handler 'payTwice' (tap) is not a method of lib/zsb-shared/pages/pay.js".replace(
            "(tap)", "(tap)" if platform is WECHAT else "(Tap)"
        )
    ]


def test_unbalanced_and_unknown_tags_are_reported(broken: Path, platform: Platform) -> None:
    template = broken / "pages" / "rate" / f"rate.{platform.template_ext}"
    text = template.read_text(encoding="utf-8")
    template.write_text(text.replace("</view>", "</text>", 1) + "<div>html</div>\n<input>\n", encoding="utf-8")
    problems = check_templates(broken, platform)
    assert any("</text> closes <view> of line 2" in problem for problem in problems)
    assert any("<div> is not a mini-program component" in problem for problem in problems)
    assert any("<input> never closed" in problem for problem in problems)


@pytest.mark.parametrize(
    "call", ["{api}.request({{ url }});", "{api}.uploadFile({{}});", "{api}.connectSocket({{}});", "fetch('/graphql');"]
)
def test_direct_network_call_is_reported(broken: Path, platform: Platform, call: str) -> None:
    api = "wx" if platform is WECHAT else "my"
    page = broken / "pages" / "search" / "search.js"
    page.write_text(page.read_text(encoding="utf-8") + call.format(api=api) + "\n", encoding="utf-8")
    problems = check_network_calls(broken)
    assert len(problems) == 1 and problems[0].startswith("pages/search/search.js:")


def test_network_calls_inside_the_vendored_client_are_allowed(broken: Path, platform: Platform) -> None:
    api = "wx" if platform is WECHAT else "my"
    (broken / VENDORED / "platform" / "extra.js").write_text(f"{api}.request({{}});\n", encoding="utf-8")
    assert check_network_calls(broken) == []


def test_unresolvable_imports_are_reported(broken: Path, vendored_stub: Path) -> None:
    page = broken / "pages" / "my" / "my.js"
    text = page.read_text(encoding="utf-8")
    page.write_text(
        "import { x } from '../../lib/zsb-client/nope.js';\nimport y from 'left-pad';\n"
        "import z from '../../../client/index.js';\n" + text,
        encoding="utf-8",
    )
    assert new_problems(check_imports, broken, vendored_stub / broken.name) == [
        "pages/my/my.js: import '../../../client/index.js' leaves the project root",
        "pages/my/my.js: import '../../lib/zsb-client/nope.js' does not exist",
        "pages/my/my.js: import 'left-pad' is not a relative path",
    ]


def test_broken_vendored_import_is_followed_and_reported(broken: Path, vendored_stub: Path) -> None:
    (broken / VENDORED / "index.js").write_text("export * from './gone.js';\n", encoding="utf-8")
    assert new_problems(check_imports, broken, vendored_stub / broken.name) == [
        "lib/zsb-client/index.js: import './gone.js' does not exist"
    ]


def test_invalid_graphql_is_reported(broken: Path, schema: GraphQLSchema) -> None:
    replace_in(broken / SHARED_VENDORED / "graphql.js", "myLicenses(first: 50) {", "myLicenses(first: 50) { colour")
    problems = check_graphql(broken, schema)
    assert len(problems) == 1 and "Cannot query field 'colour' on type 'LicenseConnection'" in problems[0]


def test_graphql_syntax_error_and_duplicates_are_reported(broken: Path, schema: GraphQLSchema) -> None:
    replace_in(broken / SHARED_VENDORED / "graphql.js", "query MpLicenses {", "query MpLicenses {{")
    replace_in(broken / SHARED_VENDORED / "graphql.js", "query MpRatingForm {", "query MpMyPage {")
    problems = check_graphql(broken, schema)
    assert any("Syntax Error" in problem for problem in problems)
    assert any("operation MpMyPage defined twice" in problem for problem in problems)


def test_untagged_or_interpolated_graphql_is_reported(broken: Path, schema: GraphQLSchema) -> None:
    page = broken / "pages" / "inbox" / "inbox.js"
    page.write_text(
        page.read_text(encoding="utf-8")
        + "const A = `query Sneaky { me { id } }`;\nconst B = 'mutation M { x }';\n"
        + "const C = /* GraphQL */ `query Built { ${'me'} { id } }`;\n",
        encoding="utf-8",
    )
    problems = check_graphql(broken, schema)
    assert "pages/inbox/inbox.js: GraphQL document without the /* GraphQL */ tag" in problems
    assert "pages/inbox/inbox.js: GraphQL document in a quoted string" in problems
    assert any("interpolation in a GraphQL document" in problem for problem in problems)


def test_binding_to_unknown_data_is_reported(broken: Path, platform: Platform) -> None:
    replace_in(broken / "pages" / "pay" / f"pay.{platform.template_ext}", "{{statusLabel}}", "{{statusLable}}")
    replace_in(broken / SHARED_VENDORED / "pages" / "guide.js", "    complete: false,\n", "")
    assert check_templates(broken, platform) == [
        f"guide.{platform.template_ext}: {{{{complete}}}} is neither in the page data nor a loop variable",
        f"pay.{platform.template_ext}: {{{{statusLable}}}} is neither in the page data nor a loop variable",
    ]
