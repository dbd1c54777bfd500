# syntax=docker/dockerfile:1
#
# revgate container image: a static binary on distroless, run as nonroot.
#
#   docker build --build-arg VERSION=1.2.3 --build-arg COMMIT=$(git rev-parse HEAD) -t revgate .
#
# The `go build` line below is the one place the release build is spelled
# out; charts/tests/dockerfile_test.go runs that exact line and checks that the
# result is statically linked and reports VERSION and COMMIT.

# The builder runs on the build machine's own platform and cross-compiles,
# so a multi-platform build (docker buildx --platform linux/amd64,linux/arm64)
# needs no emulation.
FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build
WORKDIR /src

# Modules first: this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
ARG TARGETOS
ARG TARGETARCH
# CGO_ENABLED=0: no libc, so the binary runs on an image without one.
# -buildvcs=false: .git is not in the build context; COMMIT says which commit.
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -buildvcs=false -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" -o /out/revgate ./cmd/revgate

# static-debian12 has CA certificates (for https JWKS and rediss://), tzdata
# and /etc/passwd with the nonroot user, and no shell or package manager.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG COMMIT=unknown
LABEL org.opencontainers.image.title="revgate" \
      org.opencontainers.image.description="JWT revocation gateway" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}"
COPY --from=build /out/revgate /revgate
# 65532 is distroless's nonroot; numeric so runAsNonRoot can verify it.
USER 65532:65532
# 8080: proxy listener; 9090: admin listener (admin API, /healthz, /readyz, /metrics).
EXPOSE 8080 9090
ENTRYPOINT ["/revgate"]
CMD ["serve", "--config", "/etc/revgate/revgate.yaml"]
