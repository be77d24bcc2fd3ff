//! `cargo xtask healthcheck`: is an image or a container healthy, by the
//! engine's own HEALTHCHECK, fast enough for CI?
//!
//! Three modes: `--image` (default `scylla-runner:latest`) starts a throwaway
//! container with the image's probe on a one-second cadence ([`plan`]),
//! `--container` reports on an existing container, and `--static` checks the
//! Dockerfile's HEALTHCHECK without an engine ([`dockerfile_check`]). Exit codes:
//! 0 healthy, 1 unhealthy, 2 could not check. See docs/healthcheck.md.

pub mod dockerfile_check;
pub mod plan;
pub mod report;
