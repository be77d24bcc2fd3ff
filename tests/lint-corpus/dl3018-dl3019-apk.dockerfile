FROM alpine:3.20@sha256:1e85773c98c31d4fe5b545e4cb17379e617b348832fb3738b22a08f68dec30f3
# expect: DL3018, DL3019
RUN apk add curl
# expect: DL3059
RUN apk add --no-cache curl=8.9.1-r0 --virtual .build-deps
USER 1000
HEALTHCHECK CMD ["true"]
