FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c
# expect: DL3013
RUN pip install --no-cache-dir requests "flask==3.0.0"
# expect: DL3042, DL3059
RUN pip install -r requirements.txt
# expect: DL3059
RUN pip install --no-cache-dir . "uvicorn>=0.30" git+https://example.com/x.git@v1.0 ./wheels/a.whl
# expect: DL3013, DL3059
RUN python3 -m pip install --no-cache-dir --upgrade pip
ENV PIP_NO_CACHE_DIR=1
RUN pip install httpx==0.27.0
USER 1000
HEALTHCHECK CMD ["true"]
