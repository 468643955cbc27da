"""twores command-line reference integration: click + rich over ``twores.services``."""
