"""Static check of the WeChat and Alipay mini-programs: positive runs on a vendored copy of mini_program_stub/,
negative runs on copies broken on purpose to prove each check can fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from graphql import GraphQLSchema, build_schema

from tests.client.mini_program_checks import (
    PLATFORMS,
    SCHEMA_FILE,
    SHARED_VENDORED,
    STUB,
    VENDOR_TOOL,
    VENDORED,
    WECHAT,
    Definition,
    Platform,
    check_app_structure,
    check_graphql,
    check_imports,
    check_network_calls,
    check_registrations,
    check_shared,
    check_templates,
    graphql_documents,
    own_scripts,
    page_definition,
    page_dirs,
    page_methods,
    run_all_checks,
    vendor,
)

pytestmark = pytest.mark.skipif(
    os.environ.get("ZSB_TEST_BACKEND") == "server", reason="static check; never touches the backend"
)


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return build_schema(SCHEMA_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def vendored_stub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of mini_program_stub/ with client/ and shared/ vendored the way a developer does before DevTools."""
    root = tmp_path_factory.mktemp("mp") / "mini_program_stub"
    shutil.copytree(STUB, root, ignore=shutil.ignore_patterns("zsb-client", "zsb-shared", "node_modules", "h5"))
    vendor(root)
    return root


@pytest.fixture(params=PLATFORMS, ids=lambda platform: platform.name)
def platform(request: pytest.FixtureRequest) -> Platform:
    value: Platform = request.param
    return value


@pytest.fixture
def broken(vendored_stub: Path, platform: Platform, tmp_path: Path) -> Path:
    """A throw-away copy of one vendored project for a negative test to damage."""
    return Path(shutil.copytree(vendored_stub / platform.name, tmp_path / platform.name))


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def new_problems(check: Callable[[Path], list[str]], broken: Path, pristine: Path) -> list[str]:
    """Problems of the damaged copy that the pristine project does not have (those fail the positive test)."""
    known = set(check(pristine))
    return sorted(problem for problem in check(broken) if problem not in known)


def test_project_passes_every_check(vendored_stub: Path, platform: Platform, schema: GraphQLSchema) -> None:
    assert run_all_checks(vendored_stub / platform.name, platform, schema) == []


def test_checks_are_not_vacuous(vendored_stub: Path, platform: Platform) -> None:
    project = vendored_stub / platform.name
    templates = [project / f"{page}.{platform.template_ext}" for page in page_dirs(project)]
    handlers = [h for t in templates for _, h in platform.handler_attr.findall(t.read_text(encoding="utf-8"))]
    assert len(handlers) >= 20
    assert len(list(graphql_documents(project))) >= 12
    assert (project / VENDORED / "index.js").is_file()
    definitions = [page_definition(project / f"{page}.js") for page in page_dirs(project)]
    assert all(isinstance(d, Definition) and len(page_methods(d.text)) >= 2 for d in definitions)
    assert len(list((project / SHARED_VENDORED).rglob("*.js"))) >= 15


def test_page_logic_is_written_once_in_shared(vendored_stub: Path, platform: Platform) -> None:
    """Every page registers its definition from shared/ (vendored as is); the projects keep no copy of their own."""
    project = vendored_stub / platform.name
    for page in page_dirs(project):
        definition = page_definition(project / f"{page}.js")
        assert isinstance(definition, Definition), f"{page}: {definition}"
        assert definition.file.is_relative_to((project / SHARED_VENDORED).resolve()), f"{page} defines its own page"
    for source in (STUB / "shared").rglob("*.js"):
        copy = project / SHARED_VENDORED / source.relative_to(STUB / "shared")
        assert copy.read_bytes() == source.read_bytes(), f"{copy} is not the vendored {source}"
    for gone in ("graphql.js", "util.js", "pages/form/form-model.js", "pages/wallet/qr-layout.js"):
        assert not (STUB / platform.name / gone).exists(), f"{platform.name}/{gone} duplicates shared/"


def test_configs_enable_es_modules() -> None:
    wechat = json.loads((STUB / "wechat" / "project.config.json").read_text(encoding="utf-8"))
    assert wechat["setting"]["es6"] is True and wechat["setting"]["enhance"] is True
    alipay = json.loads((STUB / "alipay" / "mini.project.json").read_text(encoding="utf-8"))
    assert alipay["enableNodeModuleBabelTransform"] is True and alipay["component2"] is True


def test_app_signs_in_with_the_platform_code() -> None:
    wechat = (STUB / "wechat" / "app.js").read_text(encoding="utf-8")
    assert "wechatPlatform(wx" in wechat and "wx.login(" in wechat and "signInWithWechat(code)" in wechat
    assert "channel: 'WECHAT_MP'" in wechat
    alipay = (STUB / "alipay" / "app.js").read_text(encoding="utf-8")
    assert "alipayPlatform(my" in alipay and "my.getAuthCode(" in alipay and "signInWithAlipay(authCode)" in alipay
    assert "channel: 'ALIPAY_MP'" in alipay


def test_pay_pages_use_the_jsapi_payloads() -> None:
    shared = (STUB / "shared" / "pages" / "pay.js").read_text(encoding="utf-8")
    assert "channel: ui.channels.payment, product: 'JSAPI'" in shared
    assert "__typename === ui.channels.payload" in shared and "ui.requestPayment(order.payload)" in shared
    wechat = (STUB / "wechat" / "ui.js").read_text(encoding="utf-8")
    assert "wx.requestPayment(" in wechat and "payment: 'WECHAT', payload: 'WechatJsapiPayload'" in wechat
    alipay = (STUB / "alipay" / "ui.js").read_text(encoding="utf-8")
    assert "my.tradePay(" in alipay and "tradeNO: payload.tradeNo" in alipay
    assert "payment: 'ALIPAY', payload: 'AlipayJsapiPayload'" in alipay


# One node process parses every file as a module (what `node --check` does per file, minus a start-up each).
PARSE_MODULES = """
const fs = require('node:fs');
const vm = require('node:vm');
for (const file of process.argv.slice(1)) {
  try { new vm.SourceTextModule(fs.readFileSync(file, 'utf8'), { identifier: file }); }
  catch (error) { console.log(`${file}: ${error.message}`); process.exitCode = 1; }
}
"""


def parse_as_modules(files: list[Path]) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    assert node
    command = [node, "--experimental-vm-modules", "--no-warnings", "-e", PARSE_MODULES, *map(str, files)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_scripts_are_valid_es_modules(vendored_stub: Path, platform: Platform) -> None:
    scripts = own_scripts(vendored_stub / platform.name)
    assert len(scripts) >= 15
    done = parse_as_modules(scripts)
    assert done.returncode == 0, done.stdout + done.stderr


def test_module_parse_check_reports_a_syntax_error(broken: Path) -> None:
    page = broken / "pages" / "my" / "my.js"
    page.write_text(page.read_text(encoding="utf-8") + "\nconst = 1;\n", encoding="utf-8")
    done = parse_as_modules(own_scripts(broken))
    assert done.returncode == 1 and done.stdout.count("\n") == 1 and "pages/my/my.js: Unexpected token" in done.stdout


PAGE_SCENARIOS = ["tools/test/mp-wechat.test.mjs", "tools/test/mp-alipay.test.mjs"]


def test_pages_run_against_the_shared_client_in_a_fake_container(vendored_stub: Path) -> None:
    """Each page's js runs in node with fake wx / my globals and a scripted GraphQL server (tools/test/)."""
    node = shutil.which("node")
    assert node
    done = subprocess.run(
        [node, "--test", "--test-reporter=tap", *PAGE_SCENARIOS],
        cwd=vendored_stub,
        env={**os.environ, "MP_STUB_ROOT": str(vendored_stub)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    counts = dict(re.findall(r"^# (pass|fail) (\d+)$", done.stdout, re.MULTILINE))
    assert counts == {"pass": "30", "fail": "0"}, done.stdout[-2000:]


def test_vendor_tool_copies_client_without_tests_and_drops_stale_files(tmp_path: Path) -> None:
    root = tmp_path / "stub"
    (root / "tools").mkdir(parents=True)
    shutil.copyfile(STUB / VENDOR_TOOL, root / VENDOR_TOOL)
    (root / "client" / "platform").mkdir(parents=True)
    (root / "client" / "test").mkdir()
    (root / "client" / "index.js").write_text("export const a = 1;\n")
    (root / "client" / "platform" / "wechat.js").write_text("export const b = 2;\n")
    (root / "client" / "test" / "core-x.test.mjs").write_text("throw new Error();\n")
    (root / "shared" / "pages").mkdir(parents=True)
    (root / "shared" / "graphql.js").write_text("export const Q = 1;\n")
    (root / "shared" / "pages" / "my.js").write_text("export const myPage = (ui) => ({});\n")
    stale = [root / "alipay" / VENDORED / "removed.js", root / "wechat" / SHARED_VENDORED / "pages" / "gone.js"]
    for path in stale:
        path.parent.mkdir(parents=True)
        path.write_text("old\n")
    vendor(root)
    for name in ("wechat", "alipay"):
        for copy, expected in (
            (VENDORED, ["index.js", "platform/wechat.js"]),
            (SHARED_VENDORED, ["graphql.js", "pages/my.js"]),
        ):
            files = root / name / copy
            assert sorted(str(p.relative_to(files)) for p in files.rglob("*") if p.is_file()) == expected
    assert not any(path.exists() for path in stale)


def test_vendor_tool_refuses_a_missing_source_and_keeps_the_old_copies(tmp_path: Path) -> None:
    root = tmp_path / "stub"
    (root / "tools").mkdir(parents=True)
    shutil.copyfile(STUB / VENDOR_TOOL, root / VENDOR_TOOL)
    (root / "client").mkdir()
    (root / "client" / "index.js").write_text("export const a = 1;\n")
    old = root / "wechat" / VENDORED / "index.js"
    old.parent.mkdir(parents=True)
    old.write_text("old\n")
    node = shutil.which("node")
    assert node
    done = subprocess.run(
        [node, str(root / VENDOR_TOOL), "--root", str(root)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1 and "no shared/ at" in done.stderr
    assert old.read_text() == "old\n"


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
