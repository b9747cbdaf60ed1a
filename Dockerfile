# syntax=docker/dockerfile:1
# The authkit server image. Build: docker build -t authkit .   (docker-compose.yml does it for you)
# test/deploy-files.test.ts checks this file against the app (port, health route, pinned
# images, production-only dependencies, non-root user).

# --- Build stage: the dev dependencies compile everything the server runs into dist/ ---------
FROM node:20-bookworm-slim AS build
# No install-time telemetry (@scarf/scarf, pulled in by swagger-ui-dist).
ENV SCARF_ANALYTICS=false
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# --- Runtime stage: production dependencies only, non-root ---------------------------------
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/app/data \
    SCARF_ANALYTICS=false
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force \
    && mkdir -p /app/data && chown node:node /app/data
# `npm ci --omit=dev` builds nothing: everything the server needs at run time (compiled code,
# migrations, mail templates, hosted pages) is under dist/, copied whole.
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM starts the graceful shutdown (up to SHUTDOWN_TIMEOUT); give it that long to stop.
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/main.js"]
