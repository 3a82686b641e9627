# The demo AstraGuard service image for compose.yaml: the astra-otel package with its demo
# extra, run as an unprivileged user. Telemetry settings come from the standard OTEL_*
# variables that compose.yaml sets (endpoint, service name, resource attributes).
#
#   docker build -t astra-otel-demo:0.1.0 .
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# Versions come from constraints/default.txt; copy only what the install needs so the layer
# is rebuilt only when the package changes.
COPY pyproject.toml README.md ./
COPY constraints ./constraints
COPY astra_otel ./astra_otel
RUN pip install -c constraints/default.txt '.[demo]' && useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin astra

USER 10001
EXPOSE 8000 8001
HEALTHCHECK --interval=10s --timeout=5s --retries=6 --start-period=20s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3)"]
CMD ["python", "-m", "astra_otel.demo", "--host", "0.0.0.0", "--port", "8000", "--downstream-port", "8001"]
