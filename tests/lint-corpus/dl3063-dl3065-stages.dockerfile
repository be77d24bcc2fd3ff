# expect: DL3063
FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c AS scratch
RUN true
# expect: DL3063, DL3065
FROM --platform=$TARGETPLATFORM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c AS context
RUN true
# expect: DL3065
FROM --platform=${TARGETPLATFORM} python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c AS build
RUN true
# Negative: other names and a platform taken from the build machine.
FROM --platform=$BUILDPLATFORM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c AS scratchpad
RUN true
FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c AS Context2
COPY --from=scratchpad /etc/hostname /tmp/a
COPY --from=build /etc/hostname /tmp/b
USER 1000
HEALTHCHECK CMD ["true"]
