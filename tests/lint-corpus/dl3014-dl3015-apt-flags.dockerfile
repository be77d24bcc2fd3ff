FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c
# expect: DL3014, DL3015
RUN apt-get install vim-tiny=2:9.0 && rm -rf /var/lib/apt/lists/*
RUN apt-get -qq install --no-install-recommends vim-tiny=2:9.0 && rm -rf /var/lib/apt/lists/*
ENV STEP=1
RUN apt-get install --yes -o APT::Install-Recommends=false vim-tiny=2:9.0 && rm -rf /var/lib/apt/lists/*
USER 1000
HEALTHCHECK CMD ["true"]
