FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c
# Names DL3064 does not take for secrets, but this project does.
# expect: SCY007, SCY007
ENV DB_PASSWD=x APP_PASSPHRASE=y
# expect: SCY007
ARG AWS_ACCESS_KEY
# expect: SCY007
ARG NPM_APIKEY
# One name, one finding: DL3064 reports the instruction (once, as hadolint does) and
# SCY007 stays quiet about the names it covers.
# expect: DL3064
ENV GITHUB_TOKEN=x API_SECRET=y
# Negative: a KEY that is not an API key, a word that only contains one.
ENV KEYBOARD=us MONKEY_PATCH=1 PASSWDLESS=1
USER 1000
HEALTHCHECK CMD ["true"]
