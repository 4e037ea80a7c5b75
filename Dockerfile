# syntax=docker/dockerfile:1
# Herald gateway image: `docker build -t herald .`, then
# `docker run -p 5009:5009 -e JWT_SECRET=... -e WEBHOOK_TOKEN=... herald` (docs/deploy.md).
ARG NODE_IMAGE=node:20-bookworm-slim

# Build: dev dependencies (TypeScript, esbuild), the compiled server and protocol, and the web
# console bundled with the client SDK it uses.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.base.json ./
COPY scripts/postbuild.mjs scripts/
COPY packages/protocol packages/protocol
COPY packages/server packages/server
COPY packages/client packages/client
COPY packages/console packages/console
RUN --mount=type=cache,target=/root/.npm \
    npm ci --workspace=@herald/server --workspace=@herald/client --workspace=@herald/console --include-workspace-root --ignore-scripts --no-audit --no-fund
RUN npx tsc -b packages/server packages/client && node scripts/postbuild.mjs && node packages/console/scripts/bundle.mjs

# Runtime: production dependencies of the server only, and the built output.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/server/package.json packages/server/
# Scripts off: the root's `prepare` would build, and bufferutil / utf-8-validate load their
# shipped prebuilt binaries without one. npm's cache stays in the build cache, not in the image.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --workspace=@herald/server --ignore-scripts --no-audit --no-fund
COPY --from=build /app/packages/protocol/dist packages/protocol/dist
COPY --from=build /app/packages/server/dist packages/server/dist
COPY --from=build /app/packages/console/dist/public packages/console/dist/public
COPY packages/server/bin packages/server/bin
COPY deploy/healthcheck.mjs deploy/
COPY examples examples
USER node
EXPOSE 5009
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 CMD ["node", "deploy/healthcheck.mjs"]
# Exec form, node as PID 1: SIGTERM reaches Herald itself, which drains (closes clients with 1012,
# finishes requests) within server.shutdownTimeout and exits 0.
CMD ["node", "packages/server/dist/cli.js", "serve"]
