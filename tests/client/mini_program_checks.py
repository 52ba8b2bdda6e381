"""Static checks of the WeChat and Alipay mini-programs, which cannot run here (used by test_mini_programs.py).

Each checker returns a list of problems (empty = fine), so a test can show both a clean project and a broken one.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from graphql import GraphQLError, GraphQLSchema, OperationDefinitionNode, parse, validate

REPO = Path(__file__).resolve().parents[2]
STUB = REPO / "mini_program_stub"
SCHEMA_FILE = REPO / "schema" / "schema.graphql"
VENDOR_TOOL = Path("tools") / "vendor-client.mjs"
VENDORED = Path("lib") / "zsb-client"


@dataclass(frozen=True)
class Platform:
    name: str
    template_ext: str
    style_ext: str
    tab_items_key: str
    handler_attr: re.Pattern[str]


WECHAT = Platform(
    "wechat",
    "wxml",
    "wxss",
    "list",
    re.compile(r"\s(?:capture-bind|capture-catch|mut-bind|bind|catch):?(\w+)=\"([^\"]*)\""),
)
ALIPAY = Platform("alipay", "axml", "acss", "items", re.compile(r"\s(?:on|catch)([A-Z]\w*)=\"([^\"]*)\""))
PLATFORMS = [WECHAT, ALIPAY]

# The pages issue 8 asks for; the check fails if a project drops one.
REQUIRED_PAGES = {"my", "search", "guide", "form", "progress", "pay", "wallet", "inbox", "rate"}
COMPONENTS = {
    "view", "text", "button", "input", "textarea", "picker", "canvas", "image", "navigator", "scroll-view",
    "block", "icon", "form", "label", "checkbox", "checkbox-group", "radio", "radio-group", "switch", "swiper",
    "swiper-item", "progress", "rich-text", "template", "import", "include", "slot",
}  # fmt: skip
FORBIDDEN_CALL = re.compile(
    r"\b(?:wx|my)\s*\.\s*(?:request|uploadFile|downloadFile|connectSocket|sendSocketMessage|closeSocket|onSocket\w*)\b"
    r"|(?<![\w.$])fetch\s*\(|\bXMLHttpRequest\b|\bnew\s+WebSocket\b"
)
IMPORT_SPEC = re.compile(
    r"^\s*(?:import|export)\s+(?:[\w*{}\s,$]+\s+from\s+)?['\"]([^'\"]+)['\"]|\bimport\s*\(\s*['\"]([^'\"]+)['\"]",
    re.MULTILINE,
)
EXPRESSION_WORDS = {"true", "false", "null", "undefined", "typeof"}
TAGGED_GRAPHQL = re.compile(r"/\*\s*GraphQL\s*\*/\s*`([^`]*)`")
BACKTICK_STRING = re.compile(r"`([^`]*)`")
OPERATION_START = re.compile(r"^\s*(?:query|mutation|subscription)\b")
QUOTED_OPERATION = re.compile(r"['\"]\s*(?:query|mutation|subscription)\s+\w*\s*[({]")
METHOD = re.compile(
    r"^ {2}(?:async\s+)?([A-Za-z_$][\w$]*)\s*(?:\(|:\s*(?:async\s+)?(?:function\b|\(|\w+\s*=>))", re.MULTILINE
)


def own_scripts(project: Path) -> list[Path]:
    """The project's JS, without the vendored client (it is checked by the client's own suite)."""
    return sorted(p for p in project.rglob("*.js") if VENDORED not in p.relative_to(project).parents)


def page_dirs(project: Path) -> list[str]:
    app = json.loads((project / "app.json").read_text(encoding="utf-8"))
    pages = app.get("pages")
    return [p for p in pages if isinstance(p, str)] if isinstance(pages, list) else []


def check_app_structure(project: Path, platform: Platform) -> list[str]:
    try:
        app = json.loads((project / "app.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return [f"app.json: {error}"]
    problems: list[str] = []
    pages = app.get("pages")
    if not isinstance(pages, list) or not pages or not all(isinstance(p, str) for p in pages):
        return ["app.json: pages must be a non-empty list of paths"]
    for page in pages:
        for ext in ("js", "json", platform.template_ext, platform.style_ext):
            if not (project / f"{page}.{ext}").is_file():
                problems.append(f"{page}.{ext}: missing")
        try:
            json.loads((project / f"{page}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            problems.append(f"{page}.json: {error}")
    listed = {page.split("/")[-1] for page in pages}
    problems += [f"app.json: required page {name} not listed" for name in sorted(REQUIRED_PAGES - listed)]
    tab_bar = app.get("tabBar") or {}
    for item in tab_bar.get(platform.tab_items_key, []):
        if item.get("pagePath") not in pages:
            problems.append(f"app.json: tabBar page {item.get('pagePath')} is not in pages")
    if not tab_bar.get(platform.tab_items_key):
        problems.append(f"app.json: tabBar.{platform.tab_items_key} is empty")
    for name in ("app.js", f"app.{platform.style_ext}"):
        if not (project / name).is_file():
            problems.append(f"{name}: missing")
    return problems


def check_registrations(project: Path) -> list[str]:
    problems = []
    app_js = project / "app.js"
    if app_js.is_file() and not re.search(r"^App\(\{", app_js.read_text(encoding="utf-8"), re.MULTILINE):
        problems.append("app.js: no App({...}) call")
    for page in page_dirs(project):
        script = project / f"{page}.js"
        if script.is_file() and not re.search(r"^Page\(\{", script.read_text(encoding="utf-8"), re.MULTILINE):
            problems.append(f"{page}.js: no Page({{...}}) call")
    return problems


class TemplateParser(HTMLParser):
    """Balanced tags and known components; WXML/AXML want every element closed, even <input/>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, int]] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._known(tag)
        self.stack.append((tag, self.getpos()[0]))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._known(tag)

    def handle_endtag(self, tag: str) -> None:
        line = self.getpos()[0]
        if not self.stack or self.stack[-1][0] != tag:
            opened = self.stack[-1] if self.stack else None
            where = f"<{opened[0]}> of line {opened[1]}" if opened else "nothing"
            self.problems.append(f"line {line}: </{tag}> closes {where}")
            if any(open_tag == tag for open_tag, _ in self.stack):
                while self.stack.pop()[0] != tag:
                    pass
            return
        self.stack.pop()

    def _known(self, tag: str) -> None:
        if tag not in COMPONENTS:
            self.problems.append(f"line {self.getpos()[0]}: <{tag}> is not a mini-program component")

    def finish(self) -> list[str]:
        self.close()
        return self.problems + [f"line {line}: <{tag}> never closed" for tag, line in self.stack]


def page_methods(script: str) -> set[str]:
    start = script.find("Page({")
    return set(METHOD.findall(script[start:])) if start >= 0 else set()


def check_templates(project: Path, platform: Platform) -> list[str]:
    problems = []
    for page in page_dirs(project):
        template, script = project / f"{page}.{platform.template_ext}", project / f"{page}.js"
        if not template.is_file() or not script.is_file():
            continue
        text = template.read_text(encoding="utf-8")
        parser = TemplateParser()
        parser.feed(text)
        problems += [f"{template.name} {problem}" for problem in parser.finish()]
        source = script.read_text(encoding="utf-8")
        methods = page_methods(source)
        for event, handler in platform.handler_attr.findall(text):
            if handler not in methods:
                problems.append(f"{template.name}: handler {handler!r} ({event}) is not a method of {script.name}")
        known = page_data_keys(source) | loop_aliases(text, platform)
        for name in sorted(binding_roots(text) - known):
            problems.append(f"{template.name}: {{{{{name}}}}} is neither in the page data nor a loop variable")
    return problems


def page_data_keys(script: str) -> set[str]:
    """Top-level keys of `data: {...}` in Page({...}) (4-space indent: keys of the literal, not nested ones)."""
    start = script.find("Page({")
    match = re.search(r"^ {2}data: \{\n(.*?)^ {2}\},", script[start:], re.MULTILINE | re.DOTALL) if start >= 0 else None
    return set(re.findall(r"^ {4}(\w+):", match.group(1), re.MULTILINE)) if match else set()


def loop_aliases(template: str, platform: Platform) -> set[str]:
    prefix = "wx" if platform is WECHAT else "a"
    named = re.findall(rf'{prefix}:for-(?:item|index)="(\w+)"', template)
    return {"item", "index", *named}


def binding_roots(template: str) -> set[str]:
    """The first identifier of every path in every {{...}} expression (a typo there renders as empty)."""
    roots: set[str] = set()
    for expression in re.findall(r"\{\{(.*?)\}\}", template, re.DOTALL):
        code = re.sub(r"'[^']*'|\"[^\"]*\"", "''", expression)
        roots.update(re.findall(r"(?<![\w.$])([A-Za-z_$][\w$]*)", code))
    return roots - EXPRESSION_WORDS


def check_network_calls(project: Path) -> list[str]:
    problems = []
    for script in own_scripts(project):
        for number, line in enumerate(script.read_text(encoding="utf-8").splitlines(), 1):
            if FORBIDDEN_CALL.search(line):
                problems.append(f"{script.relative_to(project)}:{number}: network call outside the shared client")
    return problems


def check_imports(project: Path) -> list[str]:
    """Every import, followed into the vendored client, is relative and lands on a file inside the project."""
    problems: list[str] = []
    pending, seen = own_scripts(project), set[Path]()
    while pending:
        script = pending.pop()
        if script in seen:
            continue
        seen.add(script)
        for match in IMPORT_SPEC.finditer(script.read_text(encoding="utf-8")):
            spec = match.group(1) or match.group(2)
            target = (script.parent / spec).resolve()
            where = f"{script.relative_to(project)}: import {spec!r}"
            if not spec.startswith(("./", "../")):
                problems.append(f"{where} is not a relative path")
            elif not target.is_relative_to(project.resolve()):
                problems.append(f"{where} leaves the project root")
            elif not target.is_file():
                problems.append(f"{where} does not exist")
            else:
                pending.append(target)
    return problems


def graphql_documents(project: Path) -> Iterator[tuple[str, str]]:
    for script in own_scripts(project):
        for match in TAGGED_GRAPHQL.finditer(script.read_text(encoding="utf-8")):
            yield f"{script.relative_to(project)}@{match.start()}", match.group(1)


def check_graphql(project: Path, schema: GraphQLSchema) -> list[str]:
    problems: list[str] = []
    names: set[str] = set()
    for where, document in graphql_documents(project):
        if "${" in document:
            problems.append(f"{where}: interpolation in a GraphQL document")
            continue
        try:
            ast = parse(document)
        except GraphQLError as error:
            problems.append(f"{where}: {error.message}")
            continue
        problems += [f"{where}: {error.message}" for error in validate(schema, ast)]
        operations = [node for node in ast.definitions if isinstance(node, OperationDefinitionNode)]
        if len(operations) != 1 or operations[0].name is None:
            problems.append(f"{where}: expected exactly one named operation")
        elif operations[0].name.value in names:
            problems.append(f"{where}: operation {operations[0].name.value} defined twice")
        else:
            names.add(operations[0].name.value)
    # Documents outside the convention would escape validation, so they are problems themselves.
    for script in own_scripts(project):
        text = script.read_text(encoding="utf-8")
        for match in BACKTICK_STRING.finditer(text):
            tagged = re.search(r"/\*\s*GraphQL\s*\*/\s*$", text[: match.start()])
            if OPERATION_START.match(match.group(1)) and not tagged:
                problems.append(f"{script.relative_to(project)}: GraphQL document without the /* GraphQL */ tag")
        if QUOTED_OPERATION.search(text):
            problems.append(f"{script.relative_to(project)}: GraphQL document in a quoted string")
    return problems


def run_all_checks(project: Path, platform: Platform, schema: GraphQLSchema) -> list[str]:
    return (
        check_app_structure(project, platform)
        + check_registrations(project)
        + check_templates(project, platform)
        + check_network_calls(project)
        + check_imports(project)
        + check_graphql(project, schema)
    )


def vendor(root: Path) -> None:
    node = shutil.which("node")
    assert node, "node is needed to vendor the shared client"
    subprocess.run([node, str(root / VENDOR_TOOL), "--root", str(root)], check=True, capture_output=True)
