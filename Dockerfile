# The OMTX-Hub api: `omtx serve` (GraphQL over HTTP and WebSockets) on Cloud Run, with the
# Google Cloud adapters (OMTX_BACKEND=gcp, set by deploy/terraform). Build from the repository root:
#
#   docker build -t IMAGE .
#
# deploy/cloudbuild.yaml builds it beside gpu-worker/Dockerfile (the L4 worker) and rolls the
# service; deploy/README.md has the whole deployment. No HEALTHCHECK: Cloud Run ignores it; the
# service has a startup probe on /healthz instead.

# The Node release the project is developed and tested on (package.json: engines node >= 20).
# Pin by digest once built (docker buildx imagetools inspect).
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# The TypeScript build and the production node_modules, on the runtime's own Debian so that
# better-sqlite3's native addon links against the glibc it will run with.
FROM ${NODE_IMAGE} AS app-build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential python3 \
 && rm -rf /var/lib/apt/lists/*
# node-gyp (better-sqlite3's fallback when no prebuilt addon fits) uses these headers
# instead of downloading them.
ENV npm_config_nodedir=/usr/local
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY schema ./schema
COPY src ./src
COPY resolvers ./resolvers
COPY subscriptions ./subscriptions
COPY gpu-worker ./gpu-worker
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ARG DEBIAN_FRONTEND=noninteractive
# tini as PID 1: SIGTERM reaches node, which drains requests and subscriptions within Cloud
# Run's 10-second grace; zombie processes are reaped.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --create-home --home-dir /home/omtx omtx \
 && mkdir -p /var/lib/omtx \
 && chown omtx:omtx /var/lib/omtx
WORKDIR /app
# package.json makes dist/ ES modules ("type": "module").
COPY --from=app-build /build/package.json ./package.json
COPY --from=app-build /build/node_modules ./node_modules
COPY --from=app-build /build/dist ./dist
# Cloud Run sends requests to port 8080 on any interface; deploy/terraform sets the same. The
# data directory holds the process's own keys (artifact signing, webhook server secret) when
# no secret is given; jobs and artifacts live in Firestore and Cloud Storage.
ENV NODE_ENV=production \
    OMTX_HOST=0.0.0.0 \
    OMTX_PORT=8080 \
    OMTX_DATA_DIR=/var/lib/omtx \
    HOME=/home/omtx
USER omtx
EXPOSE 8080
# Exec form, the same command as `./omtx serve` without the launcher's install-and-build steps.
# OMTX_WORKER_URL must be set (deploy/terraform does): without it serve would start a worker
# process of its own.
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--enable-source-maps", "dist/src/cli/main.js"]
CMD ["serve"]
