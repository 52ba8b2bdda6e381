"""WeChat open API: mini-program sign-in (`jscode2session`) and the stable access token."""

from api.platforms.wechat.client import WechatClient, WechatSession
from api.platforms.wechat.token import StableTokenSource, WechatTokenError

__all__ = ["StableTokenSource", "WechatClient", "WechatSession", "WechatTokenError"]
