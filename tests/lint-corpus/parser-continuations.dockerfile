FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c
RUN set -eux; \
# a comment between continuation lines

    apt-get update; \
    # an indented comment
    apt-get install -y --no-install-recommends \
        git=1:2.39.5-0 \
        # expect comments inside continuations are plain comments
        curl=7.88.1-10; \
    rm -rf /var/lib/apt/lists/*
# expect: DL3008
RUN apt-get update && apt-get install -y --no-install-recommends \
      make \
    && rm -rf /var/lib/apt/lists/*
USER 1000
HEALTHCHECK CMD ["true"]
