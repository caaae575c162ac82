//! Webhooks of the By Your Side API: the `X-BYS-Signature` scheme, shared by the sandbox (which
//! signs) and the runner's receiver (which verifies); the [`receiver`] itself.

pub mod mode;
pub mod receiver;
pub mod signature;

pub use signature::{SIGNATURE_HEADER, SignatureError, TOLERANCE, sign, signature_header, verify};
