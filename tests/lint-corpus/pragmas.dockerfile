# hadolint global ignore=DL3059
FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c
# hadolint ignore=DL3008,DL3015
RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*
RUN echo one
RUN echo two
# hadolint ignore=DL3003
RUN cd /tmp \
    && make
# expect: DL3008
RUN apt-get update && apt-get install -y --no-install-recommends wget && rm -rf /var/lib/apt/lists/*
USER 1000
HEALTHCHECK CMD ["true"]
