"""The notifications surface (notifications.md §C14): devices, inbox, preferences and open tracking for users;
templates, segments and campaigns for operators; event emission for service principals."""
