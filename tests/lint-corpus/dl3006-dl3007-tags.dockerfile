# expect: DL3006, SCY001
FROM debian AS untagged
# expect: DL3007, SCY001
FROM debian:latest AS latest
# expect: SCY001
FROM debian:12 AS tagged
FROM debian@sha256:1a3c6dbfd2173971abba880c3cc2ec4643690901f6ad6742d0827bae6cefc925 AS digest
FROM untagged AS stage-ref
FROM scratch AS empty
FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c
USER 1000
HEALTHCHECK CMD ["true"]
