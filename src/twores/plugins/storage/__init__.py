"""What every storage backend shares: scope guards, ancestor codes, audit payloads."""
