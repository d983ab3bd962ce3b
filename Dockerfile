# Multi-stage build of a hashhub node image: the Go toolchain builds the
# two static binaries; the runtime image holds them, the demo script and
# the tools it uses (curl, bash), and runs as an unprivileged user.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ ./cmd/hashhub ./cmd/hashctl

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl bash \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /data hashhub \
    && mkdir -p /data && chown hashhub /data
COPY --from=build /out/hashhub /out/hashctl /usr/local/bin/
COPY scripts/demo.sh /usr/local/bin/hashhub-demo
USER hashhub
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["hashhub"]
CMD ["serve", "--data", "/data", "--addr", "0.0.0.0:8080"]
