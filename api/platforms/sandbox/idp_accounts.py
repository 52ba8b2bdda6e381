"""The synthetic people of the IdP sandbox's login page."""

from __future__ import annotations

from dataclasses import dataclass

from api.kit.codes import id_number_check_char


@dataclass(frozen=True)
class IdpAccount:
    subject: str
    name: str
    id_type: str  # the provincial variant: 1 身份证, 2 护照, …
    id_number: str
    phone: str | None
    authlevel: str

    @property
    def masked_id(self) -> str:
        return self.id_number[:4] + "*" * max(len(self.id_number) - 8, 0) + self.id_number[-4:]


def synthetic_id_number(region: str, birth: str, sequence: str) -> str:
    # Region 99 is unassigned in GB/T 2260, so such a number can never be anyone's (domain.md §13).
    first17 = f"{region}{birth}{sequence}"
    return first17 + id_number_check_char(first17)


DEFAULT_ACCOUNTS = (
    IdpAccount("sandbox-0001", "张演示一", "1", synthetic_id_number("990100", "19900307", "123"), "13800000001", "3"),
    IdpAccount("sandbox-0002", "李演示二", "1", synthetic_id_number("990121", "19851111", "246"), None, "2"),
)
