"""Private wiring for astra-otel. Nothing here is public API; import from ``astra_otel``."""
