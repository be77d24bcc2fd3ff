FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c
# expect: DL3047
RUN wget https://example.com/file -O /tmp/file
RUN wget -q https://example.com/file && wget --progress=dot:giga https://example.com/b && wget -nv https://example.com/c
USER 1000
HEALTHCHECK CMD ["true"]
