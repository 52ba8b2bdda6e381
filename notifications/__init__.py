"""Precise notifications (notifications.md): transactional notices, campaigns, channels, inbox and statistics."""
