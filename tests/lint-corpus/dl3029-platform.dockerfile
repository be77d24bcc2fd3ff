FROM --platform=$BUILDPLATFORM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c AS build
# expect: DL3029
FROM --platform=linux/amd64 python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c
USER 1000
HEALTHCHECK CMD ["true"]
