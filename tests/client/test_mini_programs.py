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
    STUB,
    VENDOR_TOOL,
    VENDORED,
    WECHAT,
    Platform,
    check_app_structure,
    check_graphql,
    check_imports,
    check_network_calls,
    check_registrations,
    check_templates,
    graphql_documents,
    own_scripts,
    page_dirs,
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
    """A copy of mini_program_stub/ with the client vendored the way a developer does before opening DevTools."""
    root = tmp_path_factory.mktemp("mp") / "mini_program_stub"
    shutil.copytree(STUB, root, ignore=shutil.ignore_patterns("zsb-client", "node_modules", "h5"))
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


def test_platform_neutral_files_are_identical_in_both_projects() -> None:
    for shared in ("graphql.js", "pages/form/form-model.js", "pages/wallet/qr-layout.js"):
        wechat, alipay = (STUB / "wechat" / shared), (STUB / "alipay" / shared)
        assert wechat.read_bytes() == alipay.read_bytes(), f"{shared} differs between the projects"


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
    wechat = (STUB / "wechat" / "pages" / "pay" / "pay.js").read_text(encoding="utf-8")
    assert "wx.requestPayment(" in wechat and "channel: 'WECHAT', product: 'JSAPI'" in wechat
    alipay = (STUB / "alipay" / "pages" / "pay" / "pay.js").read_text(encoding="utf-8")
    assert "my.tradePay(" in alipay and "tradeNO: payload.tradeNo" in alipay
    assert "channel: 'ALIPAY', product: 'JSAPI'" in alipay


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
    assert counts == {"pass": "24", "fail": "0"}, done.stdout[-2000:]


def test_vendor_tool_copies_client_without_tests_and_drops_stale_files(tmp_path: Path) -> None:
    root = tmp_path / "stub"
    (root / "tools").mkdir(parents=True)
    shutil.copyfile(STUB / VENDOR_TOOL, root / VENDOR_TOOL)
    (root / "client" / "platform").mkdir(parents=True)
    (root / "client" / "test").mkdir()
    (root / "client" / "index.js").write_text("export const a = 1;\n")
    (root / "client" / "platform" / "wechat.js").write_text("export const b = 2;\n")
    (root / "client" / "test" / "core-x.test.mjs").write_text("throw new Error();\n")
    stale = root / "alipay" / VENDORED / "removed.js"
    stale.parent.mkdir(parents=True)
    stale.write_text("old\n")
    vendor(root)
    for name in ("wechat", "alipay"):
        copy = root / name / VENDORED
        assert sorted(str(p.relative_to(copy)) for p in copy.rglob("*") if p.is_file()) == [
            "index.js",
            "platform/wechat.js",
        ]
    assert not stale.exists()


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
    replace_in(broken / "pages" / "inbox" / "inbox.js", "Page({", "const notAPage = ({")
    replace_in(broken / "app.js", "App({", "const notAnApp = ({")
    assert check_registrations(broken) == ["app.js: no App({...}) call", "pages/inbox/inbox.js: no Page({...}) call"]


def test_undefined_handler_is_reported(broken: Path, platform: Platform) -> None:
    template = broken / "pages" / "pay" / f"pay.{platform.template_ext}"
    attribute = "bindtap" if platform is WECHAT else "onTap"
    replace_in(template, f'{attribute}="pay"', f'{attribute}="payTwice"')
    problems = check_templates(broken, platform)
    assert problems == [
        f"pay.{platform.template_ext}: handler 'payTwice' (tap) is not a method of pay.js".replace(
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
    replace_in(broken / "graphql.js", "myLicenses(first: 50) {", "myLicenses(first: 50) { colour")
    problems = check_graphql(broken, schema)
    assert len(problems) == 1 and "Cannot query field 'colour' on type 'LicenseConnection'" in problems[0]


def test_graphql_syntax_error_and_duplicates_are_reported(broken: Path, schema: GraphQLSchema) -> None:
    replace_in(broken / "graphql.js", "query MpLicenses {", "query MpLicenses {{")
    replace_in(broken / "graphql.js", "query MpRatingForm {", "query MpMyPage {")
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
    replace_in(broken / "pages" / "guide" / "guide.js", "    complete: false,\n", "")
    assert check_templates(broken, platform) == [
        f"guide.{platform.template_ext}: {{{{complete}}}} is neither in the page data nor a loop variable",
        f"pay.{platform.template_ext}: {{{{statusLable}}}} is neither in the page data nor a loop variable",
    ]
