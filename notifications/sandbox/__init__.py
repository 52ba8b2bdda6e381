"""Sandbox twins of the notification providers (APNs over raw h2 with its throwaway CA, Huawei Push Kit, the
Alipay mini-program message method). Imported only by the composition root, never started in production."""
