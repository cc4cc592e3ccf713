#!/bin/sh
# The container's entrypoint (see Dockerfile): migrate and seed the database, then become
# `kursbot run` with the container's arguments. `exec`, so that `docker stop`'s SIGTERM
# reaches the bot itself (PID 1) and its bounded shutdown runs (KURSBOT_SHUTDOWN_GRACE).
set -eu
kursbot db upgrade
exec kursbot run "$@"
