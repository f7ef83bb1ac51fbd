# The detector image for docker-compose.yml. Node runs the TypeScript sources through tsx (a
# runtime dependency), as bin/ree-sentinel.js does everywhere else, so there is no build stage.
FROM node:20-bookworm-slim

WORKDIR /app
ENV NODE_ENV=production

# Dependencies first: this layer is rebuilt only when the lockfile changes.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# Sources, schemas, Lua scripts and the material catalogue; .dockerignore keeps out the rest.
COPY . .

USER node
CMD ["node", "bin/ree-sentinel.js", "run"]
