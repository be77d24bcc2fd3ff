FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c AS build
RUN echo build > /out
# expect: DL3023
COPY --from=build /out /again
FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c
# expect: DL3022
COPY --from=missing /out /out
COPY --from=build /out /out
COPY --from=0 /out /zero
COPY --from=nginx:1.27 /etc/nginx/nginx.conf /etc/
USER 1000
HEALTHCHECK CMD ["true"]
