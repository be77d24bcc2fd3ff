# corpus-label-schema: author=text version=semver
# Stage "base" has both labels; "app" inherits them from it.
FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c AS base
LABEL author="ops" version="1.2.3"
FROM base AS app
RUN true
# Only files are copied out of "tools": a build stage needs no labels.
FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c AS tools
RUN true
# expect: DL3049
FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c
COPY --from=tools /etc/hostname /tmp/hostname
# expect: DL3051
LABEL author=""
USER 1000
HEALTHCHECK CMD ["true"]
