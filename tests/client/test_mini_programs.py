"""Static check of the WeChat and Alipay mini-programs, positive runs on a vendored copy of mini_program_stub/ (the
negative runs, on copies broken on purpose, are in test_mini_program_checks_fail.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from graphql import GraphQLSchema

from tests.client.mini_program_checks import (
    SHARED_VENDORED,
    STUB,
    VENDOR_TOOL,
    VENDORED,
    Definition,
    Platform,
    graphql_documents,
    own_scripts,
    page_definition,
    page_dirs,
    page_methods,
    run_all_checks,
    vendor,
)


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
