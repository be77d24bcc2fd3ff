FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c
# expect: DL3030, DL3032, DL3033
RUN yum install httpd
RUN yum install -y httpd-2.4.57 && yum clean all
# expect: DL3038, DL3040, DL3041
RUN dnf install nginx
RUN dnf install -y nginx-1.24.0 && dnf clean all
# expect: DL3034, DL3036, DL3037
RUN zypper install git
RUN zypper --non-interactive install git=2.43 && zypper clean
# expect: DL3035
RUN zypper dist-upgrade -y
USER 1000
HEALTHCHECK CMD ["true"]
