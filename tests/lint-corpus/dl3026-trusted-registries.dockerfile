# corpus-trusted-registry: ghcr.io
# expect: DL3026
FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c AS hub
FROM ghcr.io/org/tool:1.0@sha256:1a3c6dbfd2173971abba880c3cc2ec4643690901f6ad6742d0827bae6cefc925
USER 1000
HEALTHCHECK CMD ["true"]
