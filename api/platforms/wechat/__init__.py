"""WeChat open API: mini-program sign-in (`jscode2session`)."""

from api.platforms.wechat.client import WechatClient, WechatSession

__all__ = ["WechatClient", "WechatSession"]
