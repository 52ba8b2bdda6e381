"""The identity parts of the demo seed (domain §13 "Subjects", "Operators and verifier"), in load order.

Residents come first: enterprises link their legal representative and 经办人 to resident rows.
"""

from __future__ import annotations

from api.seed import enterprises, operators, residents
from api.seed.context import SeedPart
from api.seed.operators import DEMO_PASSWORD, VERIFIER_CLIENT_ID, VERIFIER_CREDENTIAL, demo_totp_secret

__all__ = ["DEMO_PASSWORD", "PARTS", "VERIFIER_CLIENT_ID", "VERIFIER_CREDENTIAL", "demo_totp_secret"]

PARTS: tuple[SeedPart, ...] = (
    SeedPart("residents", residents.is_loaded, residents.load),
    SeedPart("enterprises", enterprises.is_loaded, enterprises.load),
    SeedPart("operators", operators.is_loaded, operators.load),
)
