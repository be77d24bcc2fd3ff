FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# expect: SCY006
RUN curl -fsSL https://example.com/install.sh | sh
# expect: DL3004, DL4001, SCY006
RUN wget -qO- https://example.com/install.sh | sudo bash -s -- --yes
# expect: DL4001, SCY006
RUN bash -c "$(curl -fsSL https://example.com/install.sh)"
# expect: DL4001
RUN curl -fsSLo /tmp/install.sh https://example.com/install.sh && echo "abc  /tmp/install.sh" | sha256sum -c - && sh /tmp/install.sh
USER 1000
HEALTHCHECK CMD ["true"]
