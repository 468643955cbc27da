"""The SQL store's repositories, one module per kind of record."""

BATCH = 5_000
