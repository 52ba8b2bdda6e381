"""Channel identities (notifications.md §C2 `ChannelIdentity`): read from identity's bindings and the person's
verified mobile, never stored by notifications and never taken from a client."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass

from api.models import BindingProvider, IdentityBinding, Person


@dataclass(frozen=True)
class ChannelIdentities:
    wechat_openid: str | None = None
    alipay_user_id: str | None = None  # 2088…
    alipay_open_id: str | None = None
    phone: str | None = None


async def identities_of(
    user_ids: Collection[uuid.UUID], *, wechat_app_id: str = ""
) -> dict[uuid.UUID, ChannelIdentities]:
    """Every known person of `user_ids` with what they can be reached by. Identity binds the openid of the one
    mini-program this deployment signs in with, so `wechat_app_id` selects nothing today (it is accepted for a
    deployment with several apps, whose bindings would then carry the app id)."""
    del wechat_app_id
    if not user_ids:
        return {}
    ids = list(dict.fromkeys(user_ids))
    phones = dict(await Person.filter(id__in=ids).values_list("id", "mobile"))
    found: dict[uuid.UUID, dict[str, str | None]] = {
        uuid.UUID(str(pid)): {"phone": mobile} for pid, mobile in phones.items()
    }
    bindings = await IdentityBinding.filter(
        person_id__in=ids, provider__in=(BindingProvider.WECHAT, BindingProvider.ALIPAY)
    ).values_list("person_id", "provider", "subject_id", "union_id")
    for person_id, provider, subject_id, union_id in bindings:
        entry = found.setdefault(uuid.UUID(str(person_id)), {"phone": None})
        if provider == BindingProvider.WECHAT:
            entry["wechat_openid"] = subject_id
        else:  # Alipay sign-in stores the 2088 user id as subject and the open id beside it
            entry["alipay_user_id"] = subject_id
            entry["alipay_open_id"] = union_id
    return {person: ChannelIdentities(**values) for person, values in found.items()}
