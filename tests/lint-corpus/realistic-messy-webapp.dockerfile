# A typical first attempt at a web app image, with the usual problems.
# expect: DL3007, SCY001
FROM node:latest AS assets
WORKDIR /web
COPY . .
# expect: DL3016, SCY002, SCY005
RUN npm install && npm install -g gulp && npm run build

# expect: SCY001, SCY003, SCY004
FROM python:3.12
# expect: DL4000
MAINTAINER ops@example.com
LABEL maintainer=ops@example.com
# expect: DL3064
ENV SECRET_KEY=changeme
# expect: DL3008, DL3009, DL3015
RUN apt-get update && apt-get install -y nginx supervisor
RUN mkdir -p /srv/app
# expect: DL3003, DL3013, DL3042
RUN cd /srv/app && pip install gunicorn
COPY --from=assets /web/dist /srv/app/static
# expect: DL3020
ADD . /srv/app
# expect: DL3013, DL3042, SCY002
RUN pip install -r /srv/app/requirements.txt django
# expect: DL4006, SCY006
RUN curl -sL https://example.com/agent.sh | bash
EXPOSE 8000
# expect: DL3025
CMD gunicorn app.wsgi --bind 0.0.0.0:8000
