FROM node:20-slim@sha256:1e85773c98c31d4fe5b545e4cb17379e617b348832fb3738b22a08f68dec30f3
# expect: SCY005
RUN npm install -g @anthropic-ai/claude-code@latest typescript@5.6.2 && npm cache clean --force
# expect: SCY005
RUN npm i --global pnpm@^9
RUN npm install -g @anthropic-ai/claude-code@1.0.128 && npm cache clean --force
ARG CLI_VERSION=2.1.197
RUN npm install -g "@anthropic-ai/claude-code@${CLI_VERSION}" && npm cache clean --force
ARG LOOSE=latest
# expect: SCY005
RUN npm install -g "typescript@${LOOSE}" && npm cache clean --force
ARG UNKNOWN
RUN npm install -g "eslint@${UNKNOWN}"
USER 1000
HEALTHCHECK CMD ["true"]
