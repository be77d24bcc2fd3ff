FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c
# expect: DL3064
ENV ANTHROPIC_API_KEY=placeholder GITHUB_TOKEN=x
# expect: DL3064
ARG DB_PASSWORD
# expect: DL3064
ARG DOCKER_USERNAME=ci
# A well-known variable without a telling part in its name.
# expect: DL3064
ENV TRAVIS_SUDO=false
# expect: DL3064
ONBUILD ENV SIGNING_SECRET=x
# Telling parts anywhere in the name count, as hadolint reads them.
# expect: DL3064
ENV TOKENIZERS_PARALLELISM=false
# Negative: nothing sensitive.
ENV KEYBOARD=us LANG=C.UTF-8
ARG VERSION=1
USER 1000
HEALTHCHECK CMD ["true"]
