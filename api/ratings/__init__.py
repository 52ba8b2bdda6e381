"""好差评 (domain.md §9): ratings per service moment and the 差评 rectification loop."""
