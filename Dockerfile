# syntax=docker/dockerfile:1
# The production image:
#   docker build -t secure-api .
#   docker run -p 3000:3000 -e JWT_SECRET="$(openssl rand -hex 32)" -v secure-api-data:/app/data secure-api
# CI has no registry to pull node images from, so .ci/image-stages.sh runs these stages in plain
# folders instead (scripts/image-stages.ts reads this file). It knows FROM, WORKDIR, COPY, ENV,
# RUN, USER, EXPOSE, VOLUME, HEALTHCHECK and CMD; paths in RUN lines stay relative to WORKDIR.

# Build with every dependency: node-gyp compiles better-sqlite3 (this image has python3, make,
# g++), `npm ci` builds dist/ (prepare), then the dev dependencies go.
FROM node:20.20-bookworm AS build
WORKDIR /app
COPY . .
RUN npm ci --no-audit --no-fund
RUN npm prune --omit=dev --no-audit --no-fund

# Run with production dependencies only, without compilers, as a user that is not root.
FROM node:20.20-bookworm-slim
# HOST=0.0.0.0: inside a container, 127.0.0.1 is unreachable from outside.
# NODE_ENV=production: no start without JWT_SECRET or JWT_PRIVATE_KEY_FILE, no demo users.
# MALLOC_MMAP_THRESHOLD_ and the node flags in CMD are what `npm start` sets (README, "Load benchmark", "Soak").
# UV_THREADPOOL_SIZE: 2 hashing threads + libuv's 4, for a container of 2 CPUs. Node 20's libuv
# counts the host's CPUs, not the container's CPU quota, so dist/src/main.cjs would size the pool
# for the host: set UV_THREADPOOL_SIZE to the container's CPUs + 4 when it has more.
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 MALLOC_MMAP_THRESHOLD_=1048576 UV_THREADPOOL_SIZE=6
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/package.json ./dist/package.json
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/plugins ./dist/plugins
COPY --from=build /app/dist/routes ./dist/routes
# DATABASE_PATH defaults to ./data/app.db: the one folder the server writes.
RUN mkdir -p data && chown 1000:1000 data
# The official image's `node` user, by number, so that Kubernetes' runAsNonRoot can check it.
USER 1000:1000
VOLUME ["/app/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))"]
# node, not npm start: signals reach the server directly (SIGTERM finishes requests in flight).
CMD ["node", "--max-old-space-size=512", "--no-incremental-marking-task", "dist/src/main.cjs"]
