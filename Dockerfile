# syntax=docker/dockerfile:1
# One image per service from one file: `docker build --target ingest|status|webhooks|transcoder .`
# (compose.yaml builds all four). TypeScript runs directly with tsx; the one build is the web
# console's bundle (esbuild), made in its own stage and copied into the status image.
ARG NODE_VERSION=20

# Production dependencies only (npm workspaces: every package.json is needed for npm ci).
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/shared/package.json packages/shared/
COPY packages/client/package.json packages/client/
COPY packages/ingest/package.json packages/ingest/
COPY packages/console/package.json packages/console/
COPY packages/status/package.json packages/status/
COPY packages/transcoder/package.json packages/transcoder/
COPY packages/cli/package.json packages/cli/
# Fixes applied to dependencies after install (npm's postinstall runs patch-package): patches/README.md.
COPY patches ./patches
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# The web console's bundle (dist/), built with the dev dependencies (esbuild).
FROM deps AS console
RUN npm ci --no-audit --no-fund
COPY packages ./packages
RUN npm run build:console

# The application: dependencies, sources, a non-root user, /data for uploads and renditions.
FROM node:${NODE_VERSION}-bookworm-slim AS app
ENV NODE_ENV=production LOG_FORMAT=json DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY packages ./packages
RUN mkdir -p /data && chown node:node /data
USER node

FROM app AS ingest
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.INGEST_PORT||8000}/healthz`).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--max-semi-space-size=1", "--import", "tsx", "packages/ingest/src/serve.ts"]

# Status renders thumbnails and animated previews on demand, so it has ffmpeg too.
FROM app AS status
USER root
RUN apt-get update \
  && apt-get install -y --no-install-recommends ffmpeg \
  && rm -rf /var/lib/apt/lists/*
USER node
COPY --from=console /app/packages/console/dist ./packages/console/dist
EXPOSE 8001
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.STATUS_PORT||8001}/healthz`).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--import", "tsx", "packages/status/src/serve.ts"]

# The webhook worker: the status package's code (it sends jobs as status shows them).
FROM app AS webhooks
EXPOSE 9200
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.WEBHOOK_METRICS_PORT||9200}/healthz`).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--import", "tsx", "packages/status/src/serve.webhooks.ts"]

# The transcoder adds the distribution's ffmpeg (util-linux's setpriv and coreutils' nice are
# already in the base image).
FROM app AS transcoder
USER root
RUN apt-get update \
  && apt-get install -y --no-install-recommends ffmpeg \
  && rm -rf /var/lib/apt/lists/*
USER node
EXPOSE 9100
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.TRANSCODER_METRICS_PORT||9100}/healthz`).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM: running jobs get SHUTDOWN_GRACE_MS (25 s), within compose's stop_grace_period.
CMD ["node", "--import", "tsx", "packages/transcoder/src/serve.ts"]
