# corpus-label-schema: author=text
# corpus-strict-labels
FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c
LABEL author="ops"
# expect: DL3050
LABEL author="ops" team="infra"
# expect: DL3050
LABEL org.example.extra=1 other=2
USER 1000
HEALTHCHECK CMD ["true"]
