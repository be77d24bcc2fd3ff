# syntax=docker/dockerfile:1.7
FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c
# expect: DL3008, DL3015
RUN <<EOF
set -eu
apt-get update
apt-get install -y vim
rm -rf /var/lib/apt/lists/*
EOF
RUN <<-'SCRIPT' bash
	echo "tabs are stripped"
	SCRIPT
COPY <<CONF1 /etc/app/one.conf
key=1
CONF1
RUN cat > /etc/motd <<MOTD
apt-get install -y things-that-are-just-text
MOTD
RUN python3 - <<'PY'
import os
print(os.getcwd())
PY
USER 1000
HEALTHCHECK CMD ["true"]
