# syntax=docker/dockerfile:1
# A multi-stage runner image in the shape the project expects: builder, node source, runtime.
ARG PYTHON_IMAGE=python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c
ARG NODE_IMAGE=node:20-slim@sha256:1e85773c98c31d4fe5b545e4cb17379e617b348832fb3738b22a08f68dec30f3

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build
RUN pip install --no-cache-dir "build==1.2.2" "hatchling==1.25.0"
COPY pyproject.toml README.md ./
ARG EXTRAS=""
RUN mkdir -p src/scylla && touch src/scylla/__init__.py \
    && pip install --no-cache-dir --prefix=/install ".[${EXTRAS}]"
COPY src/ src/
RUN pip install --no-cache-dir --no-deps --prefix=/install .

FROM ${NODE_IMAGE} AS node

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="scylla-runner" \
      org.opencontainers.image.source="https://github.com/HomericIntelligence/ProjectScylla"
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
COPY --from=builder /install /usr/local
RUN apt-get update \
    && apt-get install -y --no-install-recommends git=1:2.39.5-0+deb12u2 ca-certificates=20230311 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
    && npm install -g @anthropic-ai/claude-code@1.0.128 \
    && npm cache clean --force
RUN groupadd --gid 999 scylla \
    && useradd --uid 999 --gid scylla --create-home --shell /bin/bash scylla
COPY --chmod=0755 docker/entrypoint.sh /usr/local/bin/entrypoint.sh
WORKDIR /workspace
USER 999:999
HEALTHCHECK --interval=30s --timeout=10s --start-period=5s --retries=3 \
    CMD python -c 'import scylla; print("OK")' || exit 1
ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]
CMD ["--help"]
