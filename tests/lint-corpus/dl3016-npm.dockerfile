FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
# expect: DL3016, DL3059
RUN npm install express @types/node@20.11.0 lodash@^4
RUN npm install ./local-pkg git+https://example.com/x.git#v1.2.0 && npm install
# expect: DL3016
RUN npm install git+https://example.com/floating.git && npm cache clean --force
USER 1000
HEALTHCHECK CMD ["true"]
