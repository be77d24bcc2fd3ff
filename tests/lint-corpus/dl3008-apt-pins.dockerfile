FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c
# expect: DL3008
RUN apt-get update && apt-get install -y --no-install-recommends curl git=1:2.39.2-1 \
    && rm -rf /var/lib/apt/lists/*
RUN apt-get update && apt-get install -y --no-install-recommends ./local.deb "ca-certificates=20230311" \
    && rm -rf /var/lib/apt/lists/*
USER 1000
HEALTHCHECK CMD ["true"]
