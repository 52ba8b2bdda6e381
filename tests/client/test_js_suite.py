"""The JS client's unit tests (node --test) as one pytest test, so `make test` and CI run them with the rest.

Only `*.test.mjs` files are passed: Node 20 given a directory runs every module in it, helpers and the live
script included. The TAP summary is read so that a run where no test executed cannot pass.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from graphql import build_schema, parse, validate

REPO = Path(__file__).resolve().parents[2]
TEST_DIR = REPO / "mini_program_stub" / "client" / "test"
CLIENT_DIR = REPO / "mini_program_stub" / "client"
SCHEMA_FILE = REPO / "schema" / "schema.graphql"
MIN_NODE_MAJOR = 20

# The client keeps its GraphQL documents as module constants, some assembled from others (`${FIELDS}`): evaluating
# the top-level string constants of each module in order yields the texts as sent.
EXTRACT_DOCUMENTS = r"""
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
const found = [];
const walk = (dir) => fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => entry.isDirectory()
  ? (entry.name === 'test' ? [] : walk(path.join(dir, entry.name)))
  : (entry.name.endsWith('.js') ? [path.join(dir, entry.name)] : []));
for (const file of walk(process.argv[1])) {
  const context = vm.createContext({});
  const source = fs.readFileSync(file, 'utf8');
  for (const m of source.matchAll(/^(?:export )?const (\w+) = ((?:`[^`]*`|'[^'\n]*'));$/gm)) {
    try { vm.runInContext(`var ${m[1]} = ${m[2]};`, context); } catch (error) { continue; }
    const text = context[m[1]];
    if (typeof text === 'string' && /^\s*(query|mutation|subscription)\b/.test(text)) {
      found.push([`${path.relative(process.argv[1], file)}:${m[1]}`, text]);
    }
  }
}
console.log(JSON.stringify(found));
"""


def tap_summary(output: str) -> dict[str, int]:
    """The `# name count` lines Node's TAP reporter ends with (tests, pass, fail, cancelled, skipped, todo)."""
    return {name: int(count) for name, count in re.findall(r"^# (\w+) (\d+)$", output, flags=re.MULTILINE)}


def node_binary() -> str:
    node = shutil.which("node")
    assert node is not None, "Node.js >= 20 is needed for the JS client tests (make test installs it)"
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    major = int(version.lstrip("v").split(".")[0])
    assert major >= MIN_NODE_MAJOR, f"Node.js {version} is too old; the client tests need >= {MIN_NODE_MAJOR}"
    return node


def test_tap_summary_reads_the_counts() -> None:
    output = "ok 1 - a\nnot ok 2 - b\n# tests 2\n# pass 1\n# fail 1\n# note 3 things\n"
    assert tap_summary(output) == {"tests": 2, "pass": 1, "fail": 1}
    assert tap_summary("TAP version 13\n") == {}


def test_js_client_suite_passes() -> None:
    files = sorted(TEST_DIR.glob("*.test.mjs"))
    assert files, f"no *.test.mjs files under {TEST_DIR}"
    done = subprocess.run(
        [node_binary(), "--test", "--test-reporter=tap", *[str(path.relative_to(REPO)) for path in files]],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report = done.stdout[-20000:] + done.stderr[-5000:]
    failed = [line for line in done.stdout.splitlines() if line.lstrip().startswith("not ok")]
    assert done.returncode == 0, "\n".join(failed) + "\n" + report
    summary = tap_summary(done.stdout)
    assert summary.get("pass", 0) > 0, report
    assert summary.get("fail", 0) == 0, report
    assert summary.get("cancelled", 0) == 0, report


def client_documents() -> dict[str, str]:
    done = subprocess.run(
        [node_binary(), "--input-type=module", "-e", EXTRACT_DOCUMENTS, str(CLIENT_DIR)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    pairs: list[list[str]] = json.loads(done.stdout)
    return {name: text for name, text in pairs}


def test_client_documents_match_the_schema() -> None:
    documents = client_documents()
    # The documents the core modules send; an extractor that finds nothing must not pass.
    for name in ("auth.js:SIGN_IN_SMS", "auth.js:REFRESH", "uploads.js:CREATE", "inbox.js:UPDATES"):
        assert name in documents, sorted(documents)
    assert "accessTokenExpiresAt" in documents["auth.js:REFRESH"]  # interpolated fragments were expanded
    schema = build_schema(SCHEMA_FILE.read_text(encoding="utf-8"))
    problems = {name: [error.message for error in validate(schema, parse(text))] for name, text in documents.items()}
    assert not {name: found for name, found in problems.items() if found}
    assert validate(schema, parse("query Bad { me { noSuchField } }"))  # the check itself can fail
