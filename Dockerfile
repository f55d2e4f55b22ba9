# driftlog for CI systems other than GitHub Actions, or `docker run` by hand:
# driftlog, git and a pinned Terraform (or OpenTofu) on Debian bookworm.
#
#   docker build -t driftlog .
#   docker run --rm --user "$(id -u):$(id -g)" -v "$PWD:/workspace" \
#       -e DRIFTLOG_SIGNING_KEY driftlog scan infra/prod
#
# The workspace: mount the repository at /workspace (the working directory). The image runs as
# the unprivileged user driftlog (10001:10001) unless told otherwise; the process needs write
# access to the stack (terraform's lock and .terraform/) and to the repository's .git (the
# audit branch), so run it with the uid that owns the checkout (`--user`, as above), or as a
# uid the checkout is group- or world-writable for, or as root (`--user 0`, e.g. CI systems
# whose checkouts belong to the runner's own user).
#
# Repository ownership: git (since 2.35.2) and libgit2 (which driftlog uses through git2; git2
# 0.20 bundles libgit2 1.9) refuse a repository owned by another uid than the process's, which
# a mounted checkout usually is. Both read safe.directory from the system config, '*' included
# (tests/container/run.sh checks it); libgit2 ignores GIT_CONFIG_NOSYSTEM, git does not. The
# image trusts every path there (safe.directory '*', below): the check guards a shared machine
# against another user's repository, and the only repository in this container is the one you
# mounted. Narrow it with --build-arg GIT_SAFE_DIRECTORY=/workspace (an exact path: git 2.39
# has no prefix match).
#
# Build arguments (all optional):
#   BUILDER_IMAGE, RUNTIME_IMAGE   base images, pinned by digest (override for a local mirror)
#   IAC_TOOL                       terraform (default) or tofu
#   TERRAFORM_VERSION, TERRAFORM_SHA256[_AMD64|_ARM64], TERRAFORM_ARCHIVE
#   TOFU_VERSION, TOFU_SHA256[_AMD64|_ARM64], TOFU_ARCHIVE
#       version and SHA-256 of the official release zip (TERRAFORM_SHA256 overrides the
#       per-architecture default); *_ARCHIVE is a path in the build context to use instead of
#       downloading the release, for builds without network access (still checksum-verified)
#   GIT_SAFE_DIRECTORY             the repositories git and libgit2 may open (default '*')
#   SOURCE_URL, VERSION, REVISION, CREATED   OCI labels
#
# Digests and checksums, and where they were read:
#   rust:1.98.1-slim-bookworm, debian:bookworm-20260918-slim: the multi-platform index digests
#     recorded by docker-library/repo-info (repos/rust/remote/1.98.1-slim-bookworm.md,
#     repos/debian/remote/bookworm-20260918-slim.md); both are built on the same bookworm
#     snapshot, so the binary's libssl3 is the runtime's.
#   terraform_1.15.5_linux_{amd64,arm64}.zip: public Homebrew formulas for 1.15.5 (one in the
#     form of hashicorp/homebrew-tap's Formula/terraform.rb) and a Nix fetchurl hash, agreeing;
#     upstream: releases.hashicorp.com/terraform/1.15.5/terraform_1.15.5_SHA256SUMS.
#   tofu_1.12.5_linux_{amd64,arm64}.zip: an opentofu-bin package build, a Homebrew formula and
#     Dockerfiles pinning it, agreeing; upstream: tofu_1.12.5_SHA256SUMS of the v1.12.5 release
#     on github.com/opentofu/opentofu.
# To update one, take it from the upstream SHA256SUMS file (or `docker buildx imagetools
# inspect IMAGE:TAG` for an image), never from a build that merely succeeded.

ARG BUILDER_IMAGE=docker.io/library/rust:1.98.1-slim-bookworm@sha256:b5395fa1e42e25148de9b2fd8c8c3a8a341ccb17554ade0ad6bd9a47031f5101
ARG RUNTIME_IMAGE=docker.io/library/debian:bookworm-20260918-slim@sha256:3783cc01769c7b2b1b83a5c5ad96c815348e28ed7da68e2e3687004faa906251
ARG IAC_TOOL=terraform

# --- driftlog ---------------------------------------------------------------------------------
FROM ${BUILDER_IMAGE} AS builder
# git2 links OpenSSL (https, and libssh2 for ssh remotes); libgit2, libssh2 and ring are C,
# built by cc with the image's gcc.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends pkg-config libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The workspace's sources only, so that nothing else in the context (a Terraform archive, docs)
# invalidates the cargo layer. Cargo wants the declared test and bench targets to exist.
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY tests tests
COPY benches benches
COPY test-provider test-provider
COPY fake-cloudformation fake-cloudformation
# Only the driftlog package: the workspace's test provider needs protoc and is not shipped.
RUN cargo build --release --locked --package driftlog --bin driftlog \
 && install -D -m 0755 target/release/driftlog /out/driftlog \
 && rm -rf target

# --- Terraform or OpenTofu, from the official release archive, SHA-256 checked ---------------
FROM ${RUNTIME_IMAGE} AS iac
ARG IAC_TOOL
ARG TARGETARCH
ARG TERRAFORM_VERSION=1.15.5
ARG TERRAFORM_SHA256=
ARG TERRAFORM_SHA256_AMD64=702b2136af6728c8ff037f843dd2dbce2b7ad88786b7381d1d72aefa250f601c
ARG TERRAFORM_SHA256_ARM64=06e7b48de826146c6d9331ba35b13da12332d8392be30d1dd6b789ba4713fff0
ARG TERRAFORM_ARCHIVE=docker/NO_ARCHIVE
ARG TOFU_VERSION=1.12.5
ARG TOFU_SHA256=
ARG TOFU_SHA256_AMD64=dade9650e6b74fc7a8b986bd8717497d32f9e09cf82e479afef4977fa3085536
ARG TOFU_SHA256_ARM64=528f4eea63452bbddb30fa4f1780b57fac8d7676f9dda0f772e847bb62c1260a
ARG TOFU_ARCHIVE=docker/NO_ARCHIVE
COPY docker/install-iac.sh /usr/local/sbin/install-iac
# The placeholder docker/NO_ARCHIVE keeps this COPY valid when no archive is given.
COPY ${TERRAFORM_ARCHIVE:-docker/NO_ARCHIVE} ${TOFU_ARCHIVE:-docker/NO_ARCHIVE} /tmp/iac-archive/
RUN install-iac

# --- the image --------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE}
ARG RUNTIME_IMAGE
ARG IAC_TOOL
ARG GIT_SAFE_DIRECTORY=*

# git: for the checkout itself and verifying the audit branch with standard tools
# (`git verify-commit` needs ssh-keygen: openssh-client); libssl3: driftlog's TLS and SSH.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ca-certificates git libssl3 openssh-client \
 && rm -rf /var/lib/apt/lists/* \
 && git config --system --replace-all safe.directory "$GIT_SAFE_DIRECTORY" \
 && groupadd --gid 10001 driftlog \
 && useradd --uid 10001 --gid 10001 --home-dir /home/driftlog --create-home \
        --shell /usr/sbin/nologin driftlog \
 && install -d -o 10001 -g 10001 /workspace

COPY --from=iac /opt/${IAC_TOOL}/ /opt/${IAC_TOOL}/
COPY --from=builder /out/driftlog /usr/local/bin/driftlog
RUN ln -s "/opt/${IAC_TOOL}/${IAC_TOOL}" "/usr/local/bin/${IAC_TOOL}" \
 && driftlog --version

# Declared this late so that a new revision or date does not rebuild the layers above.
ARG SOURCE_URL=https://github.com/driftlog/driftlog
ARG VERSION=
ARG REVISION=
ARG CREATED=
ENV DRIFTLOG_TERRAFORM_BIN=/usr/local/bin/${IAC_TOOL} \
    TF_IN_AUTOMATION=1 \
    CHECKPOINT_DISABLE=1

LABEL org.opencontainers.image.title="driftlog" \
      org.opencontainers.image.description="Terraform/OpenTofu drift detection with a signed, hash-chained audit log" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.url="${SOURCE_URL}" \
      org.opencontainers.image.documentation="${SOURCE_URL}#readme" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="${RUNTIME_IMAGE}"

WORKDIR /workspace
USER 10001:10001
ENTRYPOINT ["driftlog"]
CMD ["--help"]
