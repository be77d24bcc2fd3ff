FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c
ENV PATH=/opt/bin:$PATH
# expect: DL3044
ENV ROOT=/opt/app BIN=${ROOT}/bin
ENV A=1
ENV B=$A ROOTS=/r
ENV LEGACY value with $A
USER 1000
HEALTHCHECK CMD ["true"]
