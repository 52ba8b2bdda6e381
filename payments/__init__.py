"""缴: bills, payment orders on Alipay and WeChat Pay, notifies, active queries, refunds and reconciliation."""
