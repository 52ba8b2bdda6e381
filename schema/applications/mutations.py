"""Applicant mutations of this domain; the root Mutation inherits them."""

from __future__ import annotations

import strawberry


@strawberry.type
class ApplicationMutation:
    pass
