# pantau — run beside the router:  docker build -t pantau . && docker run ... (see README)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PANTAU_STATE=/var/lib/pantau/pantau.db
WORKDIR /app
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY notifiers ./notifiers
RUN pip install . && useradd --system --uid 10001 --home-dir /var/lib/pantau pantau \
    && mkdir -p /etc/pantau/plugins /var/lib/pantau && chown pantau /var/lib/pantau
COPY monitor.yaml /etc/pantau/monitor.yaml
COPY plugins /etc/pantau/plugins

USER pantau
WORKDIR /var/lib/pantau
VOLUME ["/var/lib/pantau"]
# Unprivileged ICMP works in Docker's namespaces (net.ipv4.ping_group_range); otherwise add
# --cap-add NET_RAW. State (host states, sessions, outbox) lives in /var/lib/pantau.
# /healthz (docs/web.md): supervised tasks alive and not crash-looping, state DB writable, event
# loop not stalled. Plain urllib: no curl in the slim image, and no pantau import every 30 s.
ENV PANTAU_HEALTH_URL=http://127.0.0.1:8080/healthz
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen(os.environ['PANTAU_HEALTH_URL'], timeout=4)"]
ENTRYPOINT ["pantau"]
CMD ["run", "-c", "/etc/pantau/monitor.yaml"]
