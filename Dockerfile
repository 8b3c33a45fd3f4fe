# syntax=docker/dockerfile:1
# Multi-stage build: cargo-chef caches the dependency layer, the runtime image is slim and non-root.

FROM rust:1.95-slim-bookworm AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /app

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /app/recipe.json recipe.json
# Dependencies only: this layer is reused until Cargo.toml or Cargo.lock change.
RUN cargo chef cook --release --locked --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked --bin keka-subgraph

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin subgraph
COPY --from=builder /app/target/release/keka-subgraph /usr/local/bin/keka-subgraph
USER subgraph
ENV LISTEN_ADDR=0.0.0.0:4001 \
    LOG_FORMAT=json \
    RUST_LOG=info
EXPOSE 4001
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS http://127.0.0.1:4001/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/keka-subgraph"]
CMD ["serve"]
