# syntax=docker/dockerfile:1
#
# The ironmage image: one binary, every role. Pick the role with the command:
#   docker run ironmage web | scheduler | executor --concurrency 20 | predict | up --demo
# docker-compose.yml and deploy/kubernetes/ run one role per container on PostgreSQL + Redis.
# crates/ironmage/tests/deploy_files.rs checks this file against the binary.

# ---- build ----------------------------------------------------------------------------------
FROM rust:1-bookworm AS builder
WORKDIR /src

# What the build reads: the workspace, the migrations (embedded by sqlx::migrate!) and the demo
# project (embedded by `ironmage init`). Everything else is kept out by .dockerignore.
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
COPY migrations ./migrations
COPY project ./project

# Cache the registry and the target folder between builds; the binary is copied out of the
# cache mount because the mount is not part of the layer.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin ironmage \
    && cp target/release/ironmage /usr/local/bin/ironmage

# ---- run ------------------------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime

# ca-certificates for outbound HTTPS from blocks; curl for the container health checks; Python
# for Python and command blocks and for serving MLflow pyfunc models. The binary itself needs
# only libc, libgcc and zlib, which the base image has.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl python3 python3-venv libgomp1 \
    && rm -rf /var/lib/apt/lists/*

# One virtualenv for every role (IRONMAGE_PYTHON below): pandas and pyarrow for Python blocks,
# mlflow and the common model libraries for pyfunc serving (deploy/python/requirements.txt).
COPY deploy/python/requirements.txt /opt/ironmage/requirements.txt
RUN python3 -m venv /opt/ironmage/python \
    && /opt/ironmage/python/bin/pip install --no-cache-dir -r /opt/ironmage/requirements.txt

# A fixed non-root uid/gid, so volumes and Kubernetes' fsGroup line up across images.
RUN groupadd --system --gid 10001 ironmage \
    && useradd --system --uid 10001 --gid ironmage --home-dir /var/lib/ironmage --no-create-home ironmage

COPY --from=builder /usr/local/bin/ironmage /usr/local/bin/ironmage
COPY --chown=ironmage:ironmage project /app/project
# The project's own Python libraries, when it lists them.
RUN if [ -f /app/project/requirements.txt ]; then \
        /opt/ironmage/python/bin/pip install --no-cache-dir -r /app/project/requirements.txt; \
    fi

# The folders exist, owned by the user, before any volume is mounted on them: Docker copies an
# image folder's content and ownership into a new named volume (so the `project` volume starts
# with the demo project and the `artifacts` volume is writable by uid 10001).
RUN mkdir -p /var/lib/ironmage/artifacts \
    && chown -R ironmage:ironmage /var/lib/ironmage /app

# Defaults for every role; DATABASE_URL and REDIS_URL are unset here, so a bare
# `docker run ironmage up --demo` is the embedded default (SQLite in /var/lib/ironmage).
ENV IRONMAGE_PROJECT_DIR=/app/project \
    IRONMAGE_DATA_DIR=/var/lib/ironmage \
    IRONMAGE_ARTIFACT_DIR=/var/lib/ironmage/artifacts \
    IRONMAGE_PYTHON=/opt/ironmage/python/bin/python \
    PATH=/opt/ironmage/python/bin:$PATH

USER ironmage:ironmage
WORKDIR /app

# 6789 web (dashboard, /api), 5000 prediction, 6790 scheduler /health, 6791 executor /health.
EXPOSE 6789 5000 6790 6791

# SIGTERM (docker stop, Kubernetes) is a graceful stop: executors finish the run they hold.
STOPSIGNAL SIGTERM
ENTRYPOINT ["ironmage"]
CMD ["up", "--demo"]
