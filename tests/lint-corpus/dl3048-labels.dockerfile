FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c
LABEL org.opencontainers.image.title="scylla" maintainer="team@example.com"
# expect: DL3048, DL3048
LABEL "Bad Key"=1 trailing.=2
USER 1000
HEALTHCHECK CMD ["true"]
