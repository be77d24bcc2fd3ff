FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc=4:12.2.0-3
FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c
# expect: DL3009
RUN apt-get update && apt-get install -y --no-install-recommends gcc=4:12.2.0-3
ENV STEP=1
RUN --mount=type=cache,target=/var/lib/apt/lists apt-get update
ENV STEP=2
RUN apt-get update && apt-get install -y --no-install-recommends gcc=4:12.2.0-3 && rm -rf /var/lib/apt/lists/*
USER 1000
HEALTHCHECK CMD ["true"]
