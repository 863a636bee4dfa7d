# syntax=docker/dockerfile:1
#
# The authmesh image: the auth service (the default entrypoint), the
# operator CLI (/usr/local/bin/authmesh) and every example service, as static binaries on a distroless base with no shell,
# run as a non-root user. Build from the repository root:
#
#   docker build --build-arg VERSION="$(git describe --tags --always --dirty)" -t authmesh .
#
# The binaries are built by scripts/build.sh, the same build the end-to-end
# tests run (CGO_ENABLED=0, -trimpath, no machine-dependent build id), so
# one commit and Go version give the same binaries. Health checks use the
# binaries' own "healthcheck" subcommand: there is no curl in the image.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Modules first, so a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN VERSION="${VERSION}" scripts/build.sh /out/bin && mkdir -p /out/data

# static-debian12: CA certificates, tzdata and /etc/passwd with the nonroot
# user (65532), nothing else (no shell, no package manager).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bin/ /usr/local/bin/
# The embedded SQLite default keeps its data here; mount a volume on it.
COPY --from=build --chown=65532:65532 /out/data /var/lib/authmesh
ENV DATA_DIR=/var/lib/authmesh
WORKDIR /var/lib/authmesh
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/server"]
