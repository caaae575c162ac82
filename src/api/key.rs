//! The API key: a secret that only the `Authorization` header ever sees.
//!
//! Invariant: no `Debug`, `Display` or error of this module shows the key or the content of the
//! file it came from. The only way to read it is `ApiKey::expose`, which is private to
//! [`crate::api`] and used once, to build the header.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where a key was read from, to say so in errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// The `BYS_API_KEY` environment variable (or any value handed over as a string).
    Env,
    /// A key file.
    File(PathBuf),
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Env => f.write_str("BYS_API_KEY"),
            KeySource::File(path) => write!(f, "the key file {}", path.display()),
        }
    }
}

/// Why a key could not be taken. Never quotes the key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{0} is empty: set it to your API key (it starts with bys_ak_)")]
    Empty(KeySource),
    // Spaces or control characters inside cannot go into an HTTP header; most often two keys
    // were pasted, or a quote character came along.
    #[error(
        "{0} contains spaces or control characters inside the key; it should hold the key alone"
    )]
    Malformed(KeySource),
    #[error("cannot read the key file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// An API key (`bys_ak_…`). Formats as `bys_ak_…(redacted)`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// The key from the value of `BYS_API_KEY` (surrounding whitespace is ignored).
    pub fn from_env_value(value: &str) -> Result<ApiKey, KeyError> {
        ApiKey::parse(value, KeySource::Env)
    }

    /// The key from a key file: its whole content, trimmed (a trailing newline is usual).
    pub fn from_file(path: &Path) -> Result<ApiKey, KeyError> {
        // `std::io::Error` messages name the problem, never the bytes read.
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: path.to_owned(),
            source,
        })?;
        ApiKey::parse(&text, KeySource::File(path.to_owned()))
    }

    fn parse(value: &str, source: KeySource) -> Result<ApiKey, KeyError> {
        let key = value.trim();
        if key.is_empty() {
            return Err(KeyError::Empty(source));
        }
        if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(KeyError::Malformed(source));
        }
        Ok(ApiKey(key.to_owned()))
    }

    /// A fingerprint of this key with the API's address (`base_url`), naming the account's
    /// shared record (`store::account`): 16 bytes of a SHA-256, from which the key cannot be
    /// recovered. Spellings of one address give one fingerprint: the scheme and host in any
    /// case, the scheme's default port written out or not, a trailing `/`.
    pub fn account_id(&self, base_url: &str) -> String {
        use sha2::{Digest, Sha256};
        let address = match reqwest::Url::parse(base_url) {
            Ok(url) => format!(
                "{}://{}:{}{}",
                url.scheme(),
                url.host_str().unwrap_or_default(),
                url.port_or_known_default().unwrap_or_default(),
                url.path().trim_end_matches('/')
            ),
            Err(_) => base_url.trim_end_matches('/').to_owned(),
        };
        let mut hasher = Sha256::new();
        hasher.update(b"bys-campaign account\0");
        hasher.update(address.as_bytes());
        hasher.update([0]);
        hasher.update(self.0.as_bytes());
        hex::encode(&hasher.finalize()[..16])
    }

    /// The secret itself, for the `Authorization` header only.
    pub(in crate::api) fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with every occurrence of the key replaced by its redacted form: for texts that
    /// come from elsewhere (a server's message) and end up in an error.
    pub(in crate::api) fn scrub(&self, text: &str) -> String {
        text.replace(&self.0, &self.to_string())
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The public prefix helps tell a live key from something else pasted by mistake.
        if self.0.starts_with("bys_ak_") {
            f.write_str("bys_ak_…(redacted)")
        } else {
            f.write_str("…(redacted)")
        }
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "bys_ak_live_s3cr3t";

    #[test]
    fn formats_never_show_the_key() {
        let key = ApiKey::from_env_value(SECRET).unwrap();
        assert_eq!(key.to_string(), "bys_ak_…(redacted)");
        assert_eq!(format!("{key:?}"), "ApiKey(bys_ak_…(redacted))");
        assert_eq!(key.expose(), SECRET);
        let other = ApiKey::from_env_value("sk_other_key").unwrap();
        assert_eq!(other.to_string(), "…(redacted)");
    }

    #[test]
    fn one_account_has_one_fingerprint_however_its_address_is_spelled() {
        let key = ApiKey("bys_ak_live_0123456789".into());
        let id = key.account_id("https://api.byyourside.example");
        for spelling in [
            "https://api.byyourside.example/",
            "HTTPS://API.ByYourSide.example",
            "https://api.byyourside.example:443",
            "https://api.byyourside.example:443/",
        ] {
            assert_eq!(key.account_id(spelling), id, "{spelling}");
        }
        let local = key.account_id("http://127.0.0.1:4010");
        assert_eq!(key.account_id("HTTP://127.0.0.1:4010/"), local);
        // Another port, scheme, host or key is another account (or may be).
        for other in [
            "http://127.0.0.1:4011",
            "https://127.0.0.1:4010",
            "http://api.byyourside.example",
        ] {
            assert_ne!(key.account_id(other), local, "{other}");
        }
        assert_ne!(
            ApiKey("bys_ak_live_other".into()).account_id("http://127.0.0.1:4010"),
            local
        );
        assert!(!id.contains("0123456789"));
    }

    #[test]
    fn values_are_trimmed_and_checked() {
        let key = ApiKey::from_env_value(&format!("  {SECRET}\n")).unwrap();
        assert_eq!(key.expose(), SECRET);
        for bad in ["", "  \n", "\t"] {
            let err = ApiKey::from_env_value(bad).unwrap_err();
            assert!(matches!(err, KeyError::Empty(KeySource::Env)), "{err:?}");
            assert!(err.to_string().contains("BYS_API_KEY"), "{err}");
        }
        let err = ApiKey::from_env_value(&format!("{SECRET} {SECRET}")).unwrap_err();
        assert!(matches!(err, KeyError::Malformed(_)));
        assert!(!err.to_string().contains(SECRET), "{err}");
    }

    #[test]
    fn key_files_are_read_trimmed_and_never_echoed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, format!("{SECRET}\r\n")).unwrap();
        assert_eq!(ApiKey::from_file(&path).unwrap().expose(), SECRET);

        std::fs::write(&path, "\n\n").unwrap();
        let err = ApiKey::from_file(&path).unwrap_err();
        assert!(
            matches!(err, KeyError::Empty(KeySource::File(_))),
            "{err:?}"
        );
        assert!(err.to_string().contains("key file"), "{err}");

        std::fs::write(&path, format!("{SECRET}\nsecond line {SECRET}")).unwrap();
        let err = ApiKey::from_file(&path).unwrap_err();
        assert!(!err.to_string().contains(SECRET), "{err}");
        assert!(!format!("{err:?}").contains(SECRET), "{err:?}");

        let err = ApiKey::from_file(&dir.path().join("missing")).unwrap_err();
        assert!(matches!(err, KeyError::Read { .. }), "{err:?}");
    }

    #[test]
    fn scrub_replaces_every_occurrence() {
        let key = ApiKey::from_env_value(SECRET).unwrap();
        assert_eq!(
            key.scrub(&format!("bad key {SECRET}, really {SECRET}")),
            "bad key bys_ak_…(redacted), really bys_ak_…(redacted)"
        );
    }
}
