"""效能监察 (domain.md §10): the deadline scan, 提示 / 黄牌 / 红牌 alerts and 三率一数 metrics."""
