FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c AS build
# expect: DL3066
USER app
# expect: DL3066
USER app:1000
# expect: DL3066
USER $RUNTIME_USER
# Negative: numeric uid, with a group name or number.
USER 1000:app
USER 1000:1000
FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c
# expect: DL3067
COPY --from=build / /
# expect: DL3067
COPY --from=python:3.12-slim "/" "/"
# Negative: part of the tree, or into a directory.
COPY --from=build /usr/local /usr/local
COPY --from=build / /rootfs/
USER 1000
HEALTHCHECK CMD ["true"]
