ARG BASE=python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c
FROM ${BASE} AS base
ARG BASE
ARG EXTRAS=""
ONBUILD RUN pip install --no-cache-dir ".[${EXTRAS}]"
# expect: DL3008, DL3014, DL3015
ONBUILD RUN apt-get install curl
FROM base
USER 1000
HEALTHCHECK CMD ["true"]
