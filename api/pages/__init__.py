"""Personal and enterprise home pages: composition and recommendation rules."""
