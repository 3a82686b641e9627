"""``python -m astra_otel.demo``: run the demo AstraGuard API (see :mod:`astra_otel.demo.cli`)."""

from __future__ import annotations

from astra_otel.demo.cli import main

raise SystemExit(main())
