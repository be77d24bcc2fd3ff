FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c
# expect: DL4005
RUN ln -sf /bin/bash /bin/sh
# expect: DL4006
RUN echo hi | tr a-z A-Z > /tmp/x
RUN set -o pipefail && echo hi | tr a-z A-Z
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN echo hi | tr a-z A-Z
USER 1000
HEALTHCHECK CMD ["true"]
