//! The typed HTTP client of the By Your Side Agent API, and what to do when a request fails.
//!
//! This module owns every byte bys-campaign sends to the API and reads back (the contract is
//! `../shared/bys-api.md`): [`Client`] places, reads and lists calls; [`record`] types the
//! answers tolerantly; [`error`] says what went wrong and classifies it; [`backoff`] says how
//! long to wait; [`key`] keeps the API key secret.
//!
//! The client never retries by itself (beyond reqwest's protocol-level NACKs, which are known
//! not to have reached the server) and never follows redirects: the runner decides, from
//! [`ApiError::class`], which is a pure function of the error and the operation.
//!
//! # Classification (token first, HTTP status second)
//!
//! | what happened | placing a call | reading (get, list) |
//! |---|---|---|
//! | `rate_limited`; any other 429 | `RetryAfter(Retry-After, else 5 s)` | same |
//! | `over_minute_cap` | `PauseRun` | same |
//! | `placement_failed`, `store_error`; unknown token or no token with 5xx; 408 | `Backoff` | same |
//! | no token (not the API's answer) with 502 or 504: a gateway may have forwarded the POST | `Ambiguous` | `Backoff` |
//! | `unauthorized`, `caller_id_not_owned`; unknown or no token with 401/403 | `StopRun` | same |
//! | `invalid_number`, `destination_blocked`, `to_required`, `objective_required`, `invalid_request`; unknown or no token with another 4xx | `RowFatal` | same |
//! | `not_found` or 404 | `StopRun` (the route is missing: wrong base URL) | `NotFound` for get, `StopRun` for list |
//! | 1xx, 3xx (not the API) | `StopRun` | same |
//! | no connection (refused, DNS, TLS, connect timeout) | `Backoff` | same |
//! | connected, then timeout / reset / closed / body cut off before an answer was read | `Ambiguous` | `Backoff` |
//! | a 2xx whose body cannot be read or lacks the call id | `Ambiguous` | `Backoff` |
//! | the request cannot be built (bad URL) | `StopRun` | same |
//! | a call id that cannot be a path segment (empty, `.`, `..`; nothing is sent) | — | `NotFound` |
//!
//! `Ambiguous` means the call may exist: the runner must resolve it (list recent calls) before
//! placing that row again. Nothing else is ambiguous, because every documented error answer
//! is given before a call is created.
//!
//! Invariants: the key is sent only in the `Authorization` header (marked sensitive); it is
//! not in any error, log event or `Debug` output. Requests are logged as `tracing` debug events
//! (method, path, status, elapsed), never with bodies.

pub mod backoff;
pub mod error;
pub mod key;
pub mod record;
pub mod token;

use std::fmt;
use std::time::{Duration, Instant};

use reqwest::Url;
use reqwest::header::{self, HeaderMap, HeaderValue};
use serde::Serialize;
use serde_json::Value;

pub use backoff::BackoffPolicy;
pub use error::{ApiError, ErrorClass, Operation, Transport};
pub use key::{ApiKey, KeyError, KeySource};
pub use record::{CallRecord, CallStatus, NotTerminal, Outcome, Placed};
pub use token::ErrorToken;

/// The API's base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.byourside.ai";

/// Sent as `User-Agent` on every request.
pub const USER_AGENT: &str = concat!("bys-campaign/", env!("CARGO_PKG_VERSION"));

/// The most characters of a server's `message` (or a transport detail) kept in an error: an
/// HTML error page from a proxy should not flood the results file.
const MAX_TEXT: usize = 300;

/// Timeouts of every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientOptions {
    /// Establishing the connection (TCP and TLS). Short: failing here is always safe to retry.
    pub connect_timeout: Duration,
    /// The whole request, from sending to the last byte of the answer. The API answers at once
    /// (the call itself runs in the background), so 30 s means trouble; a POST that times out
    /// is ambiguous, so not too short either.
    pub timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
        }
    }
}

/// Why a [`Client`] could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the API URL {url:?} is not usable: {reason}")]
    BaseUrl { url: String, reason: String },
    #[error("cannot set up the HTTP client: {0}")]
    Http(String),
}

/// A client of the API for one account. Cheap to clone (connections are shared).
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    /// Checked in [`Client::new`]: http(s), a base that paths can be appended to, no query.
    base: Url,
    key: ApiKey,
    options: ClientOptions,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("key", &self.key)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the API at `base_url` (with or without a trailing slash; a path prefix is
    /// kept, e.g. `https://proxy.example/bys`).
    pub fn new(base_url: &str, key: ApiKey, options: ClientOptions) -> Result<Client, ClientError> {
        let bad = |reason: &str| ClientError::BaseUrl {
            // Someone may paste the key in the wrong place; never echo it.
            url: key.scrub(base_url),
            reason: reason.to_owned(),
        };
        let base = Url::parse(base_url.trim()).map_err(|e| bad(&e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(bad("it should start with https://"));
        }
        if base.cannot_be_a_base() || base.host().is_none() {
            return Err(bad("it should be like https://api.byourside.ai"));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(bad("it should have no ?query or #fragment"));
        }

        let mut auth = HeaderValue::try_from(format!("Bearer {}", key.expose()))
            .map_err(|_| ClientError::Http("the API key cannot go into a header".into()))?;
        // Keeps it out of hyper's and reqwest's debug output.
        auth.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, auth);
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));

        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .default_headers(headers)
            .connect_timeout(options.connect_timeout)
            .timeout(options.timeout)
            // A redirect would be followed as a GET and drop the Authorization header; for an
            // API it means a wrong base URL, which the error says plainly.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ClientError::Http(error_chain(&e)))?;
        Ok(Client {
            http,
            base,
            key,
            options,
        })
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// `POST /v1/agent/calls`. `body` is the request (`render::CallRequest`); any
    /// `Serialize` value is accepted, so tests and tools can send what they like.
    ///
    /// `idempotency_key` is sent as `Idempotency-Key`. The API documents no such header, so it
    /// protects nothing today; it costs nothing and lets a future API deduplicate. On
    /// [`ErrorClass::Ambiguous`] the call may exist anyway.
    pub async fn place_call<B>(&self, body: &B, idempotency_key: &str) -> Result<Placed, ApiError>
    where
        B: Serialize + ?Sized,
    {
        let op = Operation::PlaceCall;
        let url = self.url(&["v1", "agent", "calls"]);
        let request = self
            .http
            .post(url.clone())
            .header("Idempotency-Key", idempotency_key)
            .json(body);
        let (status, answer) = self.exchange(op, &url, request).await?;
        Placed::from_json(answer).map_err(|detail| ApiError::BadBody { op, status, detail })
    }

    /// `GET /v1/agent/calls/{id}`. The id is sent as one URL-encoded path segment.
    pub async fn get_call(&self, id: &str) -> Result<CallRecord, ApiError> {
        let op = Operation::GetCall;
        // The URL standard resolves these segments (even percent-encoded dots) instead of
        // sending them: `..` would read the list route. No call has such an id.
        if matches!(id, "" | "." | "..") {
            return Err(ApiError::InvalidCallId {
                op,
                id: id.to_owned(),
            });
        }
        let url = self.url(&["v1", "agent", "calls", id]);
        let (status, answer) = self.exchange(op, &url, self.http.get(url.clone())).await?;
        CallRecord::from_json(answer).map_err(|detail| ApiError::BadBody { op, status, detail })
    }

    /// `GET /v1/agent/calls?limit=N`: the most recent calls first. `limit` is clamped to the
    /// API's 1..=100.
    pub async fn list_calls(&self, limit: u8) -> Result<Vec<CallRecord>, ApiError> {
        let op = Operation::ListCalls;
        let mut url = self.url(&["v1", "agent", "calls"]);
        url.query_pairs_mut()
            .append_pair("limit", &limit.clamp(1, 100).to_string());
        let (status, answer) = self.exchange(op, &url, self.http.get(url.clone())).await?;
        record::list_from_json(answer).map_err(|detail| ApiError::BadBody { op, status, detail })
    }

    /// The base URL with `segments` appended, each percent-encoded as one segment.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("checked in Client::new: the base URL can be a base")
            .pop_if_empty()
            .extend(segments);
        url
    }

    /// Sends `request` and reads a 2xx answer as JSON, or turns anything else into an error.
    async fn exchange(
        &self,
        op: Operation,
        url: &Url,
        request: reqwest::RequestBuilder,
    ) -> Result<(u16, Value), ApiError> {
        let started = Instant::now();
        let result = self.exchange_inner(op, request).await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let method = if op == Operation::PlaceCall {
            "POST"
        } else {
            "GET"
        };
        match &result {
            Ok((status, _)) => {
                tracing::debug!(method, path = url.path(), status, elapsed_ms, "API request");
            }
            Err(err) => tracing::debug!(
                method,
                path = url.path(),
                status = err.status(),
                elapsed_ms,
                error = %err,
                "API request failed"
            ),
        }
        result
    }

    async fn exchange_inner(
        &self,
        op: Operation,
        request: reqwest::RequestBuilder,
    ) -> Result<(u16, Value), ApiError> {
        let response = request
            .send()
            .await
            .map_err(|e| self.transport_error(op, None, &e))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(|v| self.clean(v));
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(op, Some(status), &e))?;

        if (200..300).contains(&status) {
            let answer = serde_json::from_slice(&bytes).map_err(|e| ApiError::BadBody {
                op,
                status,
                detail: format!("not JSON ({e})"),
            })?;
            return Ok((status, answer));
        }
        // An error body is `{"error": "<token>", "message": "<text>"}`, or whatever a proxy
        // in front of the API writes (HTML, nothing): then the status alone classifies it.
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let text = |name: &str| {
            body.get(name)
                .and_then(Value::as_str)
                .map(|s| self.clean(s))
        };
        Err(ApiError::Http {
            op,
            status,
            token: text("error"),
            message: text("message"),
            retry_after,
        })
    }

    fn transport_error(
        &self,
        op: Operation,
        status: Option<u16>,
        err: &reqwest::Error,
    ) -> ApiError {
        // Order matters: a connect timeout is both `is_connect` and `is_timeout`, and it is
        // the connect part that makes it safe.
        let what = if status.is_some() || err.is_body() || err.is_decode() {
            Transport::Body
        } else if err.is_builder() {
            Transport::Builder
        } else if err.is_connect() {
            Transport::Connect
        } else if err.is_timeout() {
            Transport::Timeout
        } else if err.is_request() {
            Transport::Closed
        } else {
            Transport::Other
        };
        ApiError::Transport {
            op,
            what,
            status,
            detail: self.clean(&error_chain(err)),
        }
    }

    /// Text from elsewhere, made fit for an error: without the key, control characters
    /// escaped, not too long.
    fn clean(&self, text: &str) -> String {
        let text = self.key.scrub(text);
        let text = crate::text::escape_control(&text);
        match text.char_indices().nth(MAX_TEXT) {
            Some((cut, _)) => format!("{}…", &text[..cut]),
            None => text.into_owned(),
        }
    }
}

/// The causes of a reqwest error, outermost first, without reqwest's own summary (which
/// quotes the URL) and without repeats.
fn error_chain(err: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    if parts.is_empty() {
        // No cause: reqwest's summary is all there is; strip the URL it appends.
        let summary = err.to_string();
        let summary = summary.split(" for url (").next().unwrap_or_default();
        parts.push(summary.to_owned());
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "bys_ak_unit_s3cr3t";

    fn client(base: &str) -> Client {
        let key = ApiKey::from_env_value(SECRET).unwrap();
        Client::new(base, key, ClientOptions::default()).unwrap()
    }

    #[test]
    fn paths_join_with_or_without_a_trailing_slash() {
        for (base, expected) in [
            (
                "https://api.byourside.ai",
                "https://api.byourside.ai/v1/agent/calls",
            ),
            (
                "https://api.byourside.ai/",
                "https://api.byourside.ai/v1/agent/calls",
            ),
            (
                "http://127.0.0.1:4100",
                "http://127.0.0.1:4100/v1/agent/calls",
            ),
            (
                "https://proxy.example/bys",
                "https://proxy.example/bys/v1/agent/calls",
            ),
            (
                "https://proxy.example/bys/",
                "https://proxy.example/bys/v1/agent/calls",
            ),
        ] {
            assert_eq!(
                client(base).url(&["v1", "agent", "calls"]).as_str(),
                expected
            );
        }
    }

    #[test]
    fn the_call_id_is_one_encoded_segment() {
        let c = client(DEFAULT_BASE_URL);
        assert_eq!(
            c.url(&["v1", "agent", "calls", "a/b c?d#e%f"]).as_str(),
            "https://api.byourside.ai/v1/agent/calls/a%2Fb%20c%3Fd%23e%25f"
        );
        assert_eq!(
            c.url(&["v1", "agent", "calls", "%2e%2e", "é"]).path(),
            "/v1/agent/calls/%252e%252e/%C3%A9"
        );
    }

    #[test]
    fn unusable_base_urls_are_refused_without_echoing_the_key() {
        let key = || ApiKey::from_env_value(SECRET).unwrap();
        for bad in [
            "api.byourside.ai",
            "ftp://api.byourside.ai",
            "mailto:ops@example.com",
            "https://api.byourside.ai/?x=1",
            "",
            SECRET,
        ] {
            let err = Client::new(bad, key(), ClientOptions::default()).unwrap_err();
            assert!(!err.to_string().contains(SECRET), "{err}");
            assert!(!format!("{err:?}").contains(SECRET), "{err:?}");
        }
    }

    #[test]
    fn debug_shows_the_base_not_the_key() {
        let c = client("http://127.0.0.1:9");
        let debug = format!("{c:?}");
        assert!(debug.contains("127.0.0.1:9"), "{debug}");
        assert!(debug.contains("bys_ak_…(redacted)"), "{debug}");
        assert!(!debug.contains(SECRET), "{debug}");
    }

    #[test]
    fn cleaned_text_has_no_key_no_controls_and_a_limit() {
        let c = client(DEFAULT_BASE_URL);
        assert_eq!(
            c.clean(&format!("bad {SECRET}\x1b[31m")),
            "bad bys_ak_…(redacted)\\u{1b}[31m"
        );
        let long = "é".repeat(1000);
        let cleaned = c.clean(&long);
        assert_eq!(cleaned.chars().count(), MAX_TEXT + 1);
        assert!(cleaned.ends_with('…'));
    }
}
