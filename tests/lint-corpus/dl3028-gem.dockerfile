FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c
# expect: DL3028
RUN gem install rails
RUN gem install bundler:2.5.0 && gem install rake -v 13.2.1
USER 1000
HEALTHCHECK CMD ["true"]
