FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c
USER 1000
HEALTHCHECK CMD ["true"]
# expect: DL3025
CMD python -m app
# expect: DL3025
ENTRYPOINT exec app
# expect: DL4003
CMD ["--help"]
# expect: DL4004
ENTRYPOINT ["app"]
