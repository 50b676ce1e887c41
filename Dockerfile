# The broker image: built from this repository, run as an unprivileged user, on Node 24 LTS
# (supported to April 2028; Node 20 reached end of life in April 2026). package.json's engines
# (>=20.19) is what the code needs; CI runs it on Node 20.
#   docker build -t chorus:0.1.0 .
FROM node:24-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY packages ./packages
# The client is an npm workspace (@chorus/client): npm ci needs its package.json to match the lock file.
COPY client/package.json ./client/
RUN npm ci --ignore-scripts
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# node_modules/@chorus/client is a link to ../../client (the workspace; chorus/client re-exports it):
# its built package, so that link resolves. The broker itself imports dist/client/protocol.
COPY --from=build /src/client/package.json ./client/
COPY --from=build /src/client/dist ./client/dist
# The example pages the broker serves at /examples/<name>/ (broker/server/static-files.ts), and
# the admin page at / (broker/server/admin-page.ts).
COPY --from=build /src/examples ./examples
COPY --from=build /src/admin ./admin
USER node
# 8080: clients (WebSocket /ws, HTTP API; also /metrics, /livez, /readyz unless
# --internal-port moves them, as k8s/base does to 9090); 7946: broker links.
EXPOSE 8080 7946 9090
ENTRYPOINT ["node", "dist/broker/main/cli.js"]
