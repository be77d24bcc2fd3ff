from python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c as Build
run apt-get update \
  && apt-get install -y --no-install-recommends make=4.3-4.1 \
  && rm -rf /var/lib/apt/lists/*
# expect: DL3023, DL3045
copy --from=build /usr/bin/make bin/
user 1000
healthcheck cmd ["true"]
