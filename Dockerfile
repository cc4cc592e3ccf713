# Kursbot in a container, for operators who run containers (deploy/compose.yaml runs it with
# PostgreSQL). Not built in this repository's CI, which has no Docker daemon: the tests run
# deploy/entrypoint.sh itself as a non-root user on a read-only copy of the code instead.
#
#   docker build -t kursbot .
#   docker run -e TELEGRAM_BOT_TOKEN=… -v kursbot-data:/var/lib/kursbot kursbot

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY kurse ./kurse
COPY bot ./bot
COPY migrations ./migrations
# A regular (not editable) install: the venv holds the code, compiled, and needs no /src.
RUN python -m venv /opt/kursbot && /opt/kursbot/bin/pip install .

FROM python:3.11-slim
ENV PATH=/opt/kursbot/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    KURSBOT_DATABASE_URL=sqlite:////var/lib/kursbot/kursbot.db \
    MPLCONFIGDIR=/var/cache/kursbot/matplotlib
RUN groupadd --system --gid 10001 kursbot \
 && useradd --system --uid 10001 --gid kursbot --home-dir /var/lib/kursbot \
        --no-create-home --shell /usr/sbin/nologin kursbot \
 && install -d -o kursbot -g kursbot -m 0750 /var/lib/kursbot /var/cache/kursbot
# Owned by root and not writable for the bot: code, venv and entrypoint are read-only to it.
COPY --from=build /opt/kursbot /opt/kursbot
COPY deploy/entrypoint.sh /usr/local/bin/kursbot-entrypoint
# The data (a SQLite file, if KURSBOT_DATABASE_URL is not PostgreSQL) lives in the volume.
VOLUME /var/lib/kursbot
WORKDIR /var/lib/kursbot
USER kursbot:kursbot
# matplotlib's font cache (the charts), built once here as the bot's user, in a folder of
# its own (MPLCONFIGDIR) apart from the data; compose.yaml keeps it in a volume, writable on
# the read-only root file system, so that no start builds it again in /tmp.
RUN python -c "import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot"
# 8443: webhook (kursbot run --webhook … --port 8443); 8081: health (--health-port 8081).
EXPOSE 8443 8081
# /livez: is the bot alive (updates arriving, the sweep running); /healthz is readiness (the
# database and its schema). The image has no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8081/livez', timeout=4)"]
# `docker stop` sends SIGTERM and waits 10 s by default: give it more than the shutdown
# grace (docker stop --time 40, or stop_grace_period in compose.yaml).
STOPSIGNAL SIGTERM
ENTRYPOINT ["kursbot-entrypoint"]
# Long polling, health on 8081. For a webhook behind a proxy: --webhook --url https://… \
#   --listen 0.0.0.0 --port 8443 --health-port 8081 (and KURSBOT_WEBHOOK_SECRET).
CMD ["--health-port", "8081"]
