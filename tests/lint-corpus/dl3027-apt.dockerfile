FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c
# expect: DL3009, DL3027
RUN apt update
ENV STEP=1
RUN apt-get update && apt-cache policy git && rm -rf /var/lib/apt/lists/*
USER 1000
HEALTHCHECK CMD ["true"]
