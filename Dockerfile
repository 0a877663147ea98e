# syntax=docker/dockerfile:1
# integrations-service: build with dev dependencies, run with production ones only, as a non-root user.
# Node.js 24 LTS, a fixed tag. Pin it by digest where the registry can be reached (docker buildx imagetools
# inspect node:24.22.3-bookworm-slim): the machines this was built on reach none.
ARG NODE_IMAGE=node:24.22.3-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# swagger-ui-dist pulls in @scarf/scarf, whose install script reports downloads: not from our builds.
ENV SCARF_ANALYTICS=false
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
# Not 8080 nor 3000 (the chatbot's backend and admin UI). ALLOWED_HOSTS here suits a local `docker run`;
# every deployment sets its own (ops/).
ENV NODE_ENV=production \
    PORT=8090 \
    PROBE_PORT=8091 \
    HOST=0.0.0.0 \
    ALLOWED_HOSTS=localhost,127.0.0.1
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The image's `node` user (uid 1000); the root filesystem may be mounted read-only: nothing is written.
USER node
EXPOSE 8090
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PROBE_PORT || process.env.PORT || 8090) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself is PID 1 and handles SIGTERM/SIGINT: not ready, drain, close the store, exit 0. The command is
# npm start's (a test holds the two alike).
CMD ["node", "--max-old-space-size=128", "--max-semi-space-size=16", "dist/main.js"]
