"""Reading office sheets (台账): tables from CSV/xlsx, tolerant values, row-level errors."""
