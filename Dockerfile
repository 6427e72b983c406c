# tdplan as a container: `docker compose up` (docker-compose.yml) runs it with PostgreSQL.
# Two stages: the first installs from the lockfile and generates the Prisma client; the second
# carries only the runtime (no dev dependencies, no compiler, no npm cache) and runs as `node`.
# tdplan runs its TypeScript through tsx (bin/tdplan.js), so there is no build output to copy.

# Node 22 (LTS): some dependencies want 22.15 or later.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
COPY scripts ./scripts
# Runtime dependencies only (the Prisma CLI is one: it generates the client). Install scripts are
# not needed: the one of ours, `prisma generate`, runs below once the sources are there.
RUN npm ci --no-audit --no-fund --omit=dev --ignore-scripts \
 && npm cache clean --force
COPY bin ./bin
COPY src ./src
COPY schemas ./schemas
# The Prisma client and Pothos types, into src/generated.
RUN npm run generate

FROM node:22-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json /app/prisma.config.ts ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/bin ./bin
COPY --from=build /app/src ./src
COPY --from=build /app/schemas ./schemas
COPY --from=build /app/prisma ./prisma
# The code belongs to root and is read-only to the service; it runs as the unprivileged `node`
# user of the base image. The embedded database (no DATABASE_URL) would live in /data.
RUN mkdir /data && chown node:node /data
USER node
ENV TDPLAN_DATA_DIR=/data
EXPOSE 4000
# Ready means the database answers (GET /readyz needs no token).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# `serve` applies pending migrations before it listens.
CMD ["node", "bin/tdplan.js", "serve"]
