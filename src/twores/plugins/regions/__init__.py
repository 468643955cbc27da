"""Reference regional rule plugins, each installed through the ``twores`` entry point."""
