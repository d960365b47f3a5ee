# gba-emu as a container image: `docker build -t gba-emu .`, then `docker run --rm gba-emu <command>`
# (the entrypoint is the `gba` command). The scenario runner's container backend builds it too
# (README "Container backend"). Nothing secret goes in: the NFs' data root /data is empty.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# no install scripts: the optional PC/SC addon (smartcard) stays unbuilt, lmdb ships prebuilt binaries
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY milenage milenage
COPY wire wire
COPY gba gba
COPY nf nf
COPY ue ue
COPY conformance conformance
COPY scenarios scenarios
COPY bench bench
COPY cli cli
COPY dashboard dashboard
RUN npm run build

FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist dist
COPY scenarios/*.json scenarios/*.yaml scenarios/
COPY dashboard/public dashboard/public
# one store per NF under /data/<nf>, owned by the unprivileged user the NFs run as (the scenario
# runner copies each NF's provisioned store into its directory)
RUN mkdir -p /data/hss /data/bsf /data/naf /data/eca && chown -R node:node /data
USER node
# HSS Zh, BSF Ub and Zn, NAF HTTP and TLS-PSK, ECA HTTP and TLS-PSK (listen on 0.0.0.0 via --config)
EXPOSE 7001 8080 8081 9080 9443 9090 9444
ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["--help"]
