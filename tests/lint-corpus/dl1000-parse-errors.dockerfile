FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c
# expect: DL1000
COPY only-one-argument
# expect: DL1000
FORM typo
# expect: DL1000
RUN --bogus=1 true
USER 1000
HEALTHCHECK CMD ["true"]
