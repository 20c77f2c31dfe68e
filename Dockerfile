# syntax=docker/dockerfile:1

# Build stage: default features and --locked, as scripts/test builds, so the image holds
# the tested code with exactly the dependency versions in Cargo.lock.
# NOTE: scripts/test builds the dev profile and this the release profile; they differ
# in optimization and debug assertions, not in code or features.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
    && cp target/release/fleet-dns-lb-exporter /usr/local/bin/fleet-dns-lb-exporter

# Runtime stage: glibc, libgcc, CA certificates and tzdata from Debian 12, nothing else.
# The exporter writes no files, so it runs on a read-only root filesystem.
FROM gcr.io/distroless/cc-debian12:nonroot
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="fleet-dns-lb-exporter" \
      org.opencontainers.image.description="Prometheus exporter for Azure Kubernetes Fleet Manager DNS-based load balancing" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT"
COPY --from=build /usr/local/bin/fleet-dns-lb-exporter /usr/local/bin/fleet-dns-lb-exporter
COPY LICENSE /usr/share/doc/fleet-dns-lb-exporter/LICENSE
# 65532 is the nonroot user of the distroless images; numeric, so that Kubernetes can
# check runAsNonRoot without reading /etc/passwd.
USER 65532:65532
EXPOSE 10041
ENTRYPOINT ["/usr/local/bin/fleet-dns-lb-exporter"]
