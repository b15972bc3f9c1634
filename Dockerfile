# syntax=docker/dockerfile:1
# Build stage: install everything, compile TypeScript, then drop dev dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY plugins ./plugins
COPY playground ./playground
COPY bin ./bin
COPY webui ./webui
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

# Runtime stage: only what serving needs, as a non-root user.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/webui ./webui
COPY forward.config.ts ./forward.config.ts
# The config can be replaced by mounting a file over /app/forward.config.ts; chat logs go to /app/Log.
RUN mkdir -p /app/Log /app/.data && chown -R node:node /app/Log /app/.data
USER node
VOLUME ["/app/Log", "/app/.data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "bin/aifd.mjs", "run", "--host", "0.0.0.0"]
