FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c
# expect: DL3004
RUN sudo apt-get clean
ENV NOTE="sudo in a value is fine"
USER 1000
HEALTHCHECK CMD ["true"]
