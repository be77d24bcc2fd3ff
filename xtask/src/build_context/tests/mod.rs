//! The build context's unit tests: the source hash and its cache, and the
//! `.dockerignore` rules.

mod hash;
mod ignore;
