FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c
RUN echo one
# expect: DL3059
RUN echo two
RUN echo three && echo four
RUN --mount=type=cache,target=/root/.cache echo five
USER 1000
HEALTHCHECK CMD ["true"]
