# syntax=docker/dockerfile:1
# rtstate: build on Debian 12 with the -dev packages, run on bookworm-slim with
# only the shared libraries the binary links against.

FROM debian:bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      gcc make pkg-config \
      libmicrohttpd-dev libhiredis-dev libcjson-dev libssl-dev libmongoc-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Only the binary: `make all` would also run scripts/deps.sh, and the tests need
# Redis and MongoDB-compatible servers that an image build does not have.
# .git stays out of the image: the commit rtstate_build_info names comes as
#   docker build --build-arg REVISION=$(git rev-parse --short=12 HEAD) .
ARG REVISION=unknown
RUN make build/rtstate REVISION="$REVISION"

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libmicrohttpd12 libhiredis0.14 libcjson1 libssl3 libmongoc-1.0-0 libbson-1.0-0 \
      ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin rtstate
COPY --from=build /src/build/rtstate /usr/local/bin/rtstate
USER 10001:10001
# every interface of the container (the binary's own default is loopback)
ENV PORT=8080 BIND=0.0.0.0
EXPOSE 8080
# No HEALTHCHECK: the slim image has no curl or wget. Orchestrators probe
# GET /livez (liveness) and GET /readyz (readiness) over HTTP instead.
ENTRYPOINT ["/usr/local/bin/rtstate"]
