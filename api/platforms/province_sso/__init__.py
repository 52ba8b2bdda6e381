"""The provincial unified identity platform: OpenID Connect authorization code flow with PKCE."""

from api.platforms.province_sso.client import ProvinceIdentity, ProvinceSsoClient
from api.platforms.province_sso.pkce import pkce_challenge, pkce_pair

__all__ = ["ProvinceIdentity", "ProvinceSsoClient", "pkce_challenge", "pkce_pair"]
