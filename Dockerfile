# Tally's image: one image for every role, the role is the argument.
#   docker build -t tally .
#   docker run --rm -p 8080:8080 -v tally-data:/var/lib/tally tally serve      # everything, embedded
#   docker run --rm tally collector | api | worker | scheduler | migrate | --help
# deploy/compose.yaml runs the distributed profile; deploy/helm/tally is the Helm chart.
# CI runs this file's build steps as a script on a clean clone (deploy/check/dockerfile-steps.mjs):
# keep RUN steps relative to WORKDIR, and the runtime stage free of RUN steps.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

# ---- build: dependencies, the web console, then only what production needs
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV NODE_ENV=development
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY jobs ./jobs
COPY migrations ./migrations
COPY web ./web
COPY scripts/build-web.mjs ./scripts/build-web.mjs
RUN node scripts/build-web.mjs
RUN npm prune --omit=dev --no-audit --no-fund
# `tally` on the PATH (node resolves the link, so bin/tally.mjs finds ../src), and an empty data dir
RUN ln -s tally.mjs bin/tally && mkdir -p data

# ---- runtime: Node 24, non-root, no compiler, no dev dependencies
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PATH=/app/bin:$PATH \
    TALLY_DATA_DIR=/var/lib/tally \
    HOST=0.0.0.0 \
    PORT=8080 \
    TALLY_DEMO=off
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json /app/tsconfig.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/bin ./bin
COPY --from=build /app/src ./src
COPY --from=build /app/jobs ./jobs
COPY --from=build /app/migrations ./migrations
COPY --from=build /app/web/dist ./web/dist
# the official node image's unprivileged user (uid 1000) owns the data dir and nothing else
COPY --from=build --chown=node:node /app/data /var/lib/tally
USER node
EXPOSE 8080
VOLUME ["/var/lib/tally"]
ENTRYPOINT ["tally"]
CMD ["serve"]
