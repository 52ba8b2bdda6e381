"""What the seed tells its caller: row counts and the demo sign-in details that `make run` prints."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ResidentLogin:
    name: str
    mobile: str | None
    level: str  # "L0" … "L3"
    bindings: tuple[str, ...]  # "APP 1990000…", "WECHAT demo-openid-01", …


@dataclass(frozen=True)
class AgentGrant:  # a 亲友代办 authorization
    kind: str
    principal: str
    agent: str


@dataclass(frozen=True)
class EnterpriseLogin:
    name: str
    uscc: str
    size: str
    legal_rep: str
    agent: str
    agent_scope: tuple[str, ...]  # 实施编码; empty = every item (scope_all)


@dataclass(frozen=True)
class OperatorLogin:
    username: str
    name: str
    roles: tuple[str, ...]
    department: str | None
    password: str
    totp_secret: str


@dataclass(frozen=True)
class VerifierLogin:
    client_id: str
    name: str
    credential: str
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class ServiceLogin:  # a producer system: signInService with name and secret
    name: str
    secret: str
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class SeedReport:
    counts: tuple[tuple[str, int], ...]  # (entity, synthetic rows), in seed order
    residents: tuple[ResidentLogin, ...]
    family_agents: tuple[AgentGrant, ...]
    enterprises: tuple[EnterpriseLogin, ...]
    operators: tuple[OperatorLogin, ...]
    verifier: VerifierLogin | None
    service: ServiceLogin | None = None

    def count(self, entity: str) -> int:
        return dict(self.counts).get(entity, 0)

    def render(self, *, base_url: str = "http://127.0.0.1:8000") -> str:
        sms = f"{base_url.rstrip('/')}/sandbox/sms/messages?phone=<mobile>"
        out = ["掌上办 demo seed: synthetic data (region prefix 99), demo mode only", ""]
        out.append("Rows: " + ", ".join(f"{name} {n}" for name, n in self.counts))
        out += ["", f"Residents: sign in with the mobile; the SMS code appears at {sms}"]
        out += _table(
            ("name", "mobile", "level", "bindings"),
            [(r.name, r.mobile or "-", r.level, ", ".join(r.bindings)) for r in self.residents],
        )
        out += ["", "亲友代办"]
        out += _table(("kind", "principal", "agent"), [(a.kind, a.principal, a.agent) for a in self.family_agents])
        out += ["", "Enterprises (经办人 scope: ALL or the number of listed items)"]
        out += _table(
            ("name", "USCC", "size", "legal rep", "经办人", "scope"),
            [
                (
                    e.name,
                    e.uscc,
                    e.size,
                    e.legal_rep,
                    e.agent,
                    f"{len(e.agent_scope)} items" if e.agent_scope else "ALL",
                )
                for e in self.enterprises
            ],
        )
        out += ["", "Operators: username + password + TOTP (add the secret to an authenticator app)"]
        out += _table(
            ("username", "name", "roles", "department", "password", "TOTP secret"),
            [
                (o.username, o.name, ",".join(o.roles), o.department or "-", o.password, o.totp_secret)
                for o in self.operators
            ],
        )
        if self.verifier:
            v = self.verifier
            out += [
                "",
                f"Verifier app: client_id {v.client_id}, credential {v.credential}, scopes {','.join(v.scopes)}",
            ]
        if self.service:
            p = self.service
            out += [
                "",
                f"Service principal (signInService): name {p.name}, secret {p.secret}, scopes {','.join(p.scopes)}",
            ]
        return "\n".join(out)


def _width(text: str) -> int:
    """Terminal columns: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(_width(row[i]) for row in (header, *rows)) for i in range(len(header))]
    return [
        "  " + "  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    ]
