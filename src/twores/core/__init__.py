"""The twores domain: pure Python over attrs, no storage, no framework."""
