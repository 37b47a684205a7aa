# A small image for self-hosting: Bun's slim base, production dependencies only (pruned of what the
# runtime never loads), non-root, data in a volume. Build: podman build --format docker (keeps HEALTHCHECK).

# Stage 1: install production dependencies into a clean tree, then prune it.
FROM docker.io/oven/bun:1.4.4-slim AS deps
WORKDIR /app
COPY package.json bun.lock ./
RUN bun install --frozen-lockfile --production --ignore-scripts
# Bun installs peer dependencies too: typescript and the type packages are only for the type checker.
# Declarations, source maps, docs and the builds the server never imports (CommonJS twins of ESM
# packages, Swagger UI's other bundles, the fonts the badges do not use) go as well. drizzle-orm keeps its
# CommonJS build: start-up require()s its SQLite migrator (synchronously) when a migration is pending.
RUN set -eu; cd node_modules; \
    rm -rf typescript @types bun-types; \
    find . -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' -o -name '*.tsbuildinfo' \
      -o -iname 'CHANGELOG*' -o -iname 'README*' -o -iname '*.md' -o -name '*.LEGAL.txt' \) ! -iname 'LICENSE*' -delete; \
    find satori elysia @elysiajs -type f -name '*.cjs' -delete; \
    rm -rf stripe/cjs elysia/dist/cjs @elysiajs/openapi/dist/cjs satori/dist/jsx; \
    cd swagger-ui-dist && find . -maxdepth 1 -type f ! -name 'swagger-ui-bundle.js' ! -name 'swagger-ui.css' ! -name 'package.json' ! -name 'LICENSE' ! -name 'NOTICE' ! -name 'index.js' ! -name 'absolute-path.js' -delete; cd ..; \
    cd dejavu-fonts-ttf && rm -rf fontconfig *.txt && find ttf -type f ! -name 'DejaVuSans.ttf' ! -name 'DejaVuSans-Bold.ttf' -delete

# Stage 2: the runtime, with nothing from the build stage but the pruned dependencies.
FROM docker.io/oven/bun:1.4.4-slim
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
COPY drizzle ./drizzle
ENV NODE_ENV=production \
    PORT=8080 \
    HOST=0.0.0.0 \
    DATABASE_URL=/data/nolapse.db
RUN mkdir -p /data && chown bun:bun /data
VOLUME ["/data"]
USER bun
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
  CMD ["bun", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["bun", "src/index.ts"]
