# The SMTP relay (proxy/main.ts) for ECS Fargate. Built by `cdk deploy` (ContainerImage.fromAsset).
FROM public.ecr.aws/docker/library/node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY shared ./shared
COPY proxy ./proxy
USER node
EXPOSE 2587 2465
CMD ["node", "--import", "tsx", "proxy/main.ts"]
