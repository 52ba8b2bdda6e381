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
# shared/ (page definitions, GraphQL documents, the ui port) as vendored into each project.
SHARED_VENDORED = Path("lib") / "zsb-shared"


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
# A thin page registers a shared definition: `Page(myPage(ui));`, the factory imported from a shared module.
SHARED_PAGE_CALL = re.compile(r"^Page\((\w+)\(\w+\)\);?$", re.MULTILINE)
APP_CALL = re.compile(r"^App\((?:\{|\w+\(\{)", re.MULTILINE)
# What shared/ must not touch: the containers' globals (the ui port stands in for them).
CONTAINER_GLOBAL = re.compile(r"(?<![\w.$])(wx|my|getApp|getCurrentPages|Page|App|Component)\s*[.(]")
COMMENT = re.compile(r"/\*.*?\*/|(?<![:'\"])//[^\n]*", re.DOTALL)
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


@dataclass(frozen=True)
class Definition:
    """The object literal a page registers: inline in `Page({...})` or returned by a shared `(ui) => ({...})`."""

    file: Path
    text: str


def object_literal(text: str, brace: int) -> str:
    """From the opening brace to the `})` at column 0 that closes the registration or the factory."""
    end = re.compile(r"^\}\)", re.MULTILINE).search(text, brace)
    return text[brace : end.start() if end else len(text)]


def imported_from(source: str, name: str) -> str | None:
    match = re.search(rf"^import\s*\{{[^}}]*\b{name}\b[^}}]*\}}\s*from\s*['\"]([^'\"]+)['\"]", source, re.MULTILINE)
    return match.group(1) if match else None


def page_definition(script: Path) -> Definition | str:
    """The page's definition, or why it has none (the problem check_registrations reports)."""
    source = script.read_text(encoding="utf-8")
    inline = re.search(r"^Page\(\{", source, re.MULTILINE)
    if inline:
        return Definition(script, object_literal(source, inline.end() - 1))
    call = SHARED_PAGE_CALL.search(source)
    if not call:
        return "no Page({...}) call"
    name = call.group(1)
    spec = imported_from(source, name)
    if spec is None:
        return f"Page({name}(...)): {name} is not imported"
    module = (script.parent / spec).resolve()
    if not module.is_file():
        return f"Page({name}(...)): {spec} does not exist"
    text = module.read_text(encoding="utf-8")
    start = re.search(rf"^export const {name} = \(\w+\) => \(\{{", text, re.MULTILINE)
    if not start:
        return f"Page({name}(...)): {spec} has no `export const {name} = (ui) => ({{...}})`"
    return Definition(module, object_literal(text, start.end() - 1))


def shown(path: Path, project: Path) -> str:
    path, root = path.resolve(), project.resolve()
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def check_registrations(project: Path) -> list[str]:
    problems = []
    app_js = project / "app.js"
    if app_js.is_file() and not APP_CALL.search(app_js.read_text(encoding="utf-8")):
        problems.append("app.js: no App({...}) call")
    for page in page_dirs(project):
        script = project / f"{page}.js"
        definition = page_definition(script) if script.is_file() else None
        if isinstance(definition, str):
            problems.append(f"{page}.js: {definition}")
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


def page_methods(definition: str) -> set[str]:
    return set(METHOD.findall(definition))


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
        # Without a definition (reported by check_registrations) every handler and binding is unresolved.
        definition = page_definition(script)
        source, where = (definition.text, definition.file) if isinstance(definition, Definition) else ("", script)
        methods = page_methods(source)
        for event, handler in platform.handler_attr.findall(text):
            if handler not in methods:
                problems.append(
                    f"{template.name}: handler {handler!r} ({event}) is not a method of {shown(where, project)}"
                )
        known = page_data_keys(source) | loop_aliases(text, platform)
        for name in sorted(binding_roots(text) - known):
            problems.append(f"{template.name}: {{{{{name}}}}} is neither in the page data nor a loop variable")
    return problems


def page_data_keys(definition: str) -> set[str]:
    """Top-level keys of the definition's `data: {...}` (4-space indent: keys of the literal, not nested ones)."""
    match = re.search(r"^ {2}data: \{\n(.*?)^ {2}\},", definition, re.MULTILINE | re.DOTALL)
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


def check_shared(project: Path) -> list[str]:
    """The vendored shared/ serves both containers: no container global, and imports only within itself (anything
    else would resolve differently, or not at all, in the source tree and in each project)."""
    shared = project / SHARED_VENDORED
    problems: list[str] = []
    for script in sorted(shared.rglob("*.js")) if shared.is_dir() else []:
        where = script.relative_to(project)
        text = script.read_text(encoding="utf-8")
        code = COMMENT.sub(lambda match: "\n" * match.group(0).count("\n"), text)
        for number, line in enumerate(code.splitlines(), 1):
            for name in dict.fromkeys(CONTAINER_GLOBAL.findall(line)):
                problems.append(f"{where}:{number}: container global {name} in shared code (use the ui port)")
        for match in IMPORT_SPEC.finditer(text):
            spec = match.group(1) or match.group(2)
            if not (script.parent / spec).resolve().is_relative_to(shared.resolve()):
                problems.append(f"{where}: import {spec!r} leaves {SHARED_VENDORED}/")
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
        + check_shared(project)
        + check_graphql(project, schema)
    )


def vendor(root: Path) -> None:
    node = shutil.which("node")
    assert node, "node is needed to vendor the shared client"
    subprocess.run([node, str(root / VENDOR_TOOL), "--root", str(root)], check=True, capture_output=True)
