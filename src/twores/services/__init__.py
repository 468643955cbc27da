"""Use cases over the domain and the plugin manager; the CLI and web call only these."""
