FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c
# expect: DL3062
RUN go install golang.org/x/tools/cmd/goimports
RUN go install golang.org/x/tools/gopls@v0.16.1 && go install ./cmd/tool
USER 1000
HEALTHCHECK CMD ["true"]
