# syntax=docker/dockerfile:1
# The ecs-operator image: built with cargo, run from distroless as a non-root user.
#   docker build -t ecs-operator:dev .

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin ecs-operator \
 && install -m 0755 target/release/ecs-operator /ecs-operator

# glibc and libgcc only; no shell, no package manager. UID/GID 65532 (nonroot).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /ecs-operator /ecs-operator
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/ecs-operator"]
CMD ["run"]
