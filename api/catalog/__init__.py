"""Service catalog (事项目录, 实施清单): versions, publishing, bundles, search and guided navigation."""
