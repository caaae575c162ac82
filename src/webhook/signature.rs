//! The `X-BYS-Signature` header: `t=<unix seconds>,v1=<hex>` where `hex` is the lowercase hex
//! HMAC-SHA256, keyed with the webhook secret, of `"<t>.<raw body>"`.
//!
//! [`verify`] is the receiver's check: the header must parse, the timestamp must be within
//! [`TOLERANCE`] of the receiver's clock (replay protection), and the MAC must match, compared
//! in constant time. Every failure has its own [`SignatureError`] variant so a receiver can log
//! why a delivery was refused; none of them says anything about the secret.
//!
//! `t` is wall-clock time (Unix seconds), never simulated time: the receiver compares it with
//! its own clock, and the vendor's SDK uses `time.time()`.

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-BYS-Signature";

/// How far the signed timestamp may be from the receiver's clock, either way.
pub const TOLERANCE: Duration = Duration::from_secs(300);

type HmacSha256 = Hmac<Sha256>;

/// Why a webhook signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The request had no signature header (or an empty one).
    #[error("the {SIGNATURE_HEADER} header is missing")]
    Missing,
    /// The header is not `t=<unix seconds>,v1=<hex>`.
    #[error("the {SIGNATURE_HEADER} header is malformed: {0}")]
    Malformed(&'static str),
    /// The signed timestamp is more than the tolerance away from now.
    #[error(
        "the signature timestamp is {skew_secs} s away from now (tolerance {tolerance_secs} s)"
    )]
    Stale {
        /// How far the timestamp is from now, in seconds (absolute).
        skew_secs: u64,
        /// The tolerance that was exceeded, in seconds.
        tolerance_secs: u64,
    },
    /// The MAC does not match: wrong secret, or the body was changed.
    #[error("the signature does not match the body")]
    Mismatch,
    /// The secret is empty, so nothing can be verified.
    #[error("the webhook secret is empty")]
    EmptySecret,
}

fn mac(secret: &[u8], t: i64, body: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The lowercase hex HMAC-SHA256 of `"<t>.<body>"` keyed with `secret`.
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    hex::encode(mac(secret.as_bytes(), t, body).finalize().into_bytes())
}

/// The full header value, `t=<t>,v1=<hex>`, for a body signed at Unix time `t`.
pub fn signature_header(secret: &str, t: i64, body: &[u8]) -> String {
    format!("t={t},v1={}", sign(secret, t, body))
}

/// Checks a signature header against the raw body, the secret and the receiver's current Unix
/// time `now` (in seconds), with the given tolerance (normally [`TOLERANCE`]).
///
/// Unknown `key=value` parts are ignored, as the vendor's SDK does, so the scheme can grow.
pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secret: &str,
    now: i64,
    tolerance: Duration,
) -> Result<(), SignatureError> {
    if secret.is_empty() {
        return Err(SignatureError::EmptySecret);
    }
    let header = header.map(str::trim).filter(|h| !h.is_empty());
    let header = header.ok_or(SignatureError::Missing)?;

    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        let Some((key, value)) = part.split_once('=') else {
            continue;
        };
        match key.trim() {
            "t" => t = Some(value.trim()),
            "v1" => v1 = Some(value.trim()),
            _ => {}
        }
    }
    let t = t.ok_or(SignatureError::Malformed("no t= part"))?;
    let v1 = v1.ok_or(SignatureError::Malformed("no v1= part"))?;
    let t: i64 = t
        .parse()
        .map_err(|_| SignatureError::Malformed("t is not an integer"))?;
    let tag = hex::decode(v1).map_err(|_| SignatureError::Malformed("v1 is not hex"))?;

    let skew = now.abs_diff(t);
    if skew > tolerance.as_secs() {
        return Err(SignatureError::Stale {
            skew_secs: skew,
            tolerance_secs: tolerance.as_secs(),
        });
    }
    // `verify_slice` compares in constant time.
    mac(secret.as_bytes(), t, body)
        .verify_slice(&tag)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test";
    const BODY: &[u8] = br#"{"event":"call.completed","callId":"c1"}"#;
    const T: i64 = 1_767_600_000;

    #[test]
    fn matches_an_independent_hmac_sha256() {
        // sign("Jefe", t, body) must equal a plain HMAC of "<t>.<body>".
        let mut reference = HmacSha256::new_from_slice(b"Jefe").unwrap();
        reference.update(b"42.what do ya want for nothing?");
        let expected = hex::encode(reference.finalize().into_bytes());
        assert_eq!(sign("Jefe", 42, b"what do ya want for nothing?"), expected);
        // RFC 4231 test case 2 pins the primitive itself.
        let mut rfc = HmacSha256::new_from_slice(b"Jefe").unwrap();
        rfc.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(rfc.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_fresh_signature_verifies() {
        let header = signature_header(SECRET, T, BODY);
        assert!(header.starts_with(&format!("t={T},v1=")));
        assert_eq!(
            verify(Some(&header), BODY, SECRET, T + 299, TOLERANCE),
            Ok(())
        );
        assert_eq!(
            verify(Some(&header), BODY, SECRET, T - 300, TOLERANCE),
            Ok(())
        );
    }

    #[test]
    fn each_failure_has_its_own_error() {
        let header = signature_header(SECRET, T, BODY);
        let check = |h: Option<&str>, body: &[u8], secret: &str, now: i64| {
            verify(h, body, secret, now, TOLERANCE)
        };
        assert_eq!(check(None, BODY, SECRET, T), Err(SignatureError::Missing));
        assert_eq!(
            check(Some(" "), BODY, SECRET, T),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            check(Some(&header), BODY, "", T),
            Err(SignatureError::EmptySecret)
        );
        assert_eq!(
            check(Some(&header), BODY, "whsec_other", T),
            Err(SignatureError::Mismatch)
        );
        let mut changed = BODY.to_vec();
        changed[3] ^= 1;
        assert_eq!(
            check(Some(&header), &changed, SECRET, T),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(Some(&header), BODY, SECRET, T + 301),
            Err(SignatureError::Stale {
                skew_secs: 301,
                tolerance_secs: 300
            })
        );
        assert!(matches!(
            check(Some("v1=abcd"), BODY, SECRET, T),
            Err(SignatureError::Malformed(_))
        ));
        assert!(matches!(
            check(Some("t=1"), BODY, SECRET, T),
            Err(SignatureError::Malformed(_))
        ));
        assert!(matches!(
            check(Some("t=soon,v1=ab"), BODY, SECRET, T),
            Err(SignatureError::Malformed(_))
        ));
        assert!(matches!(
            check(Some(&format!("t={T},v1=zz")), BODY, SECRET, T),
            Err(SignatureError::Malformed(_))
        ));
    }

    #[test]
    fn a_changed_timestamp_breaks_the_mac() {
        let header =
            signature_header(SECRET, T, BODY).replace(&T.to_string(), &(T + 1).to_string());
        assert_eq!(
            verify(Some(&header), BODY, SECRET, T, TOLERANCE),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn unknown_parts_and_spaces_are_tolerated() {
        let header = format!("t={T}, v0=dead, v1={}", sign(SECRET, T, BODY));
        assert_eq!(verify(Some(&header), BODY, SECRET, T, TOLERANCE), Ok(()));
    }
}
