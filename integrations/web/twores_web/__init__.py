"""twores web reference integration (Litestar). The app arrives with the web issue."""
