# The SMTP relay (proxy/main.ts) for ECS Fargate, built by `cdk deploy` (ContainerImage.fromAsset,
# for linux/arm64). Two stages: the relay is bundled to one JavaScript file at build time (no tsx,
# no TypeScript, no dev dependencies in the image), then run on the current Node LTS.
FROM public.ecr.aws/docker/library/node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY patches ./patches
# No dependency's install scripts run here; ours, patch-package, applies patches/ (package.json's
# postinstall: a faster line scan in mailsplit, see the patch).
RUN npm ci --no-audit --no-fund --ignore-scripts && npx patch-package --error-on-fail
COPY tsconfig.json ./
COPY shared ./shared
COPY proxy ./proxy
RUN npx esbuild proxy/main.ts --bundle --platform=node --target=node22 --format=esm \
      --banner:js="import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" \
      --outfile=dist/relay.mjs

FROM public.ecr.aws/docker/library/node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# glibc's malloc for a process whose memory is mostly short-lived buffers (TLS records, chunks of
# messages): two arenas instead of eight per core, and every block of 128 KB or more mapped on its
# own and given back to the system when freed (a fixed threshold: by default glibc raises it up to
# 32 MB after the first large free, then keeps such blocks in its heap). Measured by `npm run bench`,
# which runs the relay with this environment, in alternating runs of one session: 1,000 idle TLS
# sessions 134-138 MB instead of 198; 50 sessions each uploading 38 MB at once 1.06-1.26x the DATA
# budget above idle with SIZE declared and 1.13-1.16x without, instead of 1.20-1.48x and 1.29-1.38x;
# CPU per copy the same within the noise: two relays measured in turns, with and without, gave
# medians of 0.97-1.12 over seven runs (1 x 10 and 10 x 10), around 1.0 on a machine that varies +-10 %.
ENV MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072
COPY --from=build /src/dist/relay.mjs ./relay.mjs
USER node
EXPOSE 2587 2465
# The process answers SMTP: a TCP connect to the STARTTLS port that gets the 220 greeting.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "const s=require('net').connect(2587,'127.0.0.1');s.setTimeout(4000,()=>process.exit(1));s.once('data',d=>process.exit(String(d).startsWith('220')?0:1));s.once('error',()=>process.exit(1))"]
# A young generation of 8 MB semi-spaces instead of V8's 16: the relay's garbage is short-lived
# (a copy streamed to SES is base64 strings of 32 KB), and under load V8 grows the young generation
# to its maximum, which stays resident. Measured by `npm run bench`, which runs the relay with these
# flags: 25 MB to 10 recipients took 3.0–3.1× the message above idle with 16 MB, 2.4–2.6× with 8.
# Old-generation collections only once the heap has doubled (V8 collected every ~1 s at 16-22 MB
# of heap), and no allocation-site pretenuring (alone it cut those collections from 7 to 2 in 8 s:
# V8 had been allocating objects that die soon straight in the old generation). Each full
# collection also dropped the optimized code of the callbacks made per message, which V8 then
# compiled again: with one connection V8's compiler threads took 10-13 % of the process's CPU
# (traced on the benchmark's I/O floor, 40 s into the load).
# Measured by two relays in turns (`npm run bench` runs the relay with these flags): 0.86x the
# CPU per copy at 1 x 1, 0.87x at 10 x 10, the same at 1 x 10.
CMD ["node", "--max-semi-space-size=8", "--heap-growing-percent=100", "--no-allocation-site-pretenuring", "relay.mjs"]
