//! The vendor's Python SDK (`byourside` 0.1.0, unchanged) against the real sandbox binary.
//!
//! This test fails, never skips, when `python3` or the package is missing: CI installs it with
//! `python3 -m pip install byourside==0.1.0` (see the README's test command).

use std::process::Command;

use bys_campaign::webhook::signature::{SignatureError, TOLERANCE, verify};
use serde_json::Value;

use crate::support::SandboxProcess;

#[test]
fn the_vendor_sdk_works_against_the_sandbox_unchanged() {
    let main = SandboxProcess::spawn(&[
        "--time-scale",
        "0.01",
        "--webhook-secret",
        "whsec_sdk_check",
    ]);
    let limited = SandboxProcess::spawn(&["--rate-limit", "1/min"]);
    let capped = SandboxProcess::spawn(&["--minute-cap", "0"]);
    let failing = SandboxProcess::spawn(&["--error-rate", "1"]);

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk/sdk_check.py");
    let out = Command::new("python3")
        .arg(script)
        .args([
            &main.base_url,
            &limited.base_url,
            &capped.base_url,
            &failing.base_url,
        ])
        .output()
        .expect("python3 must be installed to run the SDK compatibility test");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the SDK check failed (is `byourside==0.1.0` installed? \
         `python3 -m pip install byourside==0.1.0`):\n{stderr}"
    );
    for check in [
        "place_call/get_call/wait_for_call",
        "rate_limited",
        "over_minute_cap",
        "store_error",
        "verify_webhook",
    ] {
        assert!(
            stderr.contains(check),
            "{check} was not reported:\n{stderr}"
        );
    }

    // The delivery the SDK verified also passes our own verifier, and fails it when tampered.
    let delivery: Value = serde_json::from_slice(&out.stdout).expect("one JSON line on stdout");
    let header = delivery["signature"].as_str().unwrap();
    let body = delivery["body"].as_str().unwrap().as_bytes();
    let t: i64 = header.split(',').next().unwrap()[2..].parse().unwrap();
    assert_eq!(
        verify(Some(header), body, "whsec_sdk_check", t, TOLERANCE),
        Ok(())
    );
    assert_eq!(
        verify(Some(header), body, "whsec_sandbox", t, TOLERANCE),
        Err(SignatureError::Mismatch)
    );
    assert!(matches!(
        verify(Some(header), body, "whsec_sdk_check", t + 301, TOLERANCE),
        Err(SignatureError::Stale { .. })
    ));
}
