"""The settings layer: declarations, value kinds, the loaders and the resolved settings.

It imports nothing but the standard library and :mod:`astra_otel.errors`, so ``setup()``,
the catalogue and the local stack (``astra-otel stack ...``) all build on it without the
OpenTelemetry SDK being imported.
"""
