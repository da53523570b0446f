"""spec -> frames. Pure: no HTTP, no database."""
