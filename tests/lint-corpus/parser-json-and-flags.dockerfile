FROM --platform=$BUILDPLATFORM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c AS build
RUN --mount=type=cache,target=/root/.cache/pip --mount=type=secret,id=token \
    pip install -r requirements.txt
RUN ["/bin/bash", "-c", "set -o pipefail && echo a | cat"]
COPY --chown=app:app --chmod=0755 --link ["run.sh", "/usr/local/bin/"]
FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c
COPY --from=build --link /usr/local/bin/run.sh /usr/local/bin/
VOLUME ["/data"]
STOPSIGNAL SIGTERM
USER 1000
HEALTHCHECK CMD ["true"]
ENTRYPOINT ["/usr/local/bin/run.sh"]
