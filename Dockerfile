# Build: compile TypeScript with the dev dependencies.
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
RUN npm run build
# the web app, served by the server at /
COPY web/package.json web/package-lock.json ./web/
RUN npm ci --prefix web --no-audit --no-fund
COPY web ./web
RUN npm run build:web

# Run: production dependencies, the compiled server and the built web app only.
FROM node:24-slim
ENV NODE_ENV=production
# fewer glibc malloc arenas: a long upload's freed buffers are reused instead of growing RSS (docs/operations.md)
ENV MALLOC_ARENA_MAX=2
# ffmpeg (with ffprobe) compresses and splits recordings over the provider's size limit
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/web/dist ./web/dist
USER node
EXPOSE 3000
# readiness (database and GridFS answer; 200 also when only "degraded"); liveness is GET /health
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# semi-spaces of 4 MB keep a large upload's memory flat (docs/operations.md, "Memory"; test/support/app-process.ts)
CMD ["node", "--max-semi-space-size=4", "dist/main.js"]
