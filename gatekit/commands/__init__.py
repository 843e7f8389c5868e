"""One module per command: argument unpacking only; the work is in the core."""
