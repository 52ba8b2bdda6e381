"""One channel interface (base.py) and its adapters: Alipay (alipay.py) and WeChat Pay v3 (wechat_pay.py)."""
