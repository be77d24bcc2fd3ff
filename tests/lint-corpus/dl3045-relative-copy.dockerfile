FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c AS base
# expect: DL3045
COPY app.py app/
WORKDIR /srv
COPY app.py app/
FROM base AS child
COPY app.py again/
FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c
COPY app.py /abs/
USER 1000
HEALTHCHECK CMD ["true"]
