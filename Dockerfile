# One image for the three services; choose one with SERVICE (key-service, notification-service,
# scheduler-service).
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --omit=optional

FROM node:24-bookworm-slim
# Bounded heaps keep each service under 200 MB resident under load (bench/RESULTS.md); kafkajs
# 2.2.4's negative timer delay is harmless (clamped to 1 ms) but warned about on Node 24.
ENV NODE_ENV=production HTTP_HOST=0.0.0.0 NODE_OPTIONS="--max-old-space-size=128 --max-semi-space-size=8 --disable-warning=TimeoutNegativeWarning"
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# notification-service's journal of accepted emails: a volume mounted here starts owned by node.
RUN mkdir -p var/deliveries-journal && chown node:node var/deliveries-journal
USER node
ARG SERVICE=key-service
ENV SERVICE=${SERVICE}
CMD ["sh", "-c", "exec node dist/apps/${SERVICE}/src/main.js"]
