//! Everything that can go wrong with one API request, and what the runner should do about it.
//!
//! [`ApiError`] says what happened (an error answer, a transport failure, an unreadable
//! success); [`ApiError::class`] says what to do, as a pure function of the error and the
//! operation it came from. The table is in the [`crate::api`] header; each arm below carries
//! its reason.
//!
//! Invariant: no error holds the API key. Texts that come from elsewhere (the server's
//! `message`, transport details) are scrubbed of it by the client before they get here.

use std::fmt;
use std::time::Duration;

use super::ErrorToken;

/// `Retry-After` to assume for a 429 whose header is missing or not whole seconds.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);
/// The longest `Retry-After` honoured as given: a garbled huge value must not freeze a run;
/// after this long the runner simply asks again.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Which request failed. Classification depends on it: only placing a call has side effects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `POST /v1/agent/calls`.
    PlaceCall,
    /// `GET /v1/agent/calls/{id}`.
    GetCall,
    /// `GET /v1/agent/calls?limit=N`.
    ListCalls,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::PlaceCall => "POST /v1/agent/calls",
            Operation::GetCall => "GET /v1/agent/calls/{id}",
            Operation::ListCalls => "GET /v1/agent/calls",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What went wrong below HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// No connection was made (refused, DNS, TLS handshake, connect timeout): the request
    /// certainly did not reach the server.
    Connect,
    /// Connected, but no complete answer arrived within the request timeout.
    Timeout,
    /// The connection was closed or reset before an answer was read (or while the request was
    /// being written).
    Closed,
    /// The status line arrived, but reading the body failed (incomplete, reset, timeout).
    Body,
    /// The request could not be built (an unusable URL): a configuration problem.
    Builder,
    /// Anything else reqwest reports.
    Other,
}

impl Transport {
    fn describe(self) -> &'static str {
        match self {
            Transport::Connect => "cannot connect to the API",
            Transport::Timeout => "no answer within the timeout",
            Transport::Closed => "the connection closed before the answer",
            Transport::Body => "the answer's body could not be read",
            Transport::Builder => "the request could not be built",
            Transport::Other => "the request failed",
        }
    }
}

/// One failed API request. Never contains the API key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The API answered with a status other than 2xx.
    #[error("{op}: the API answered {status}{}", describe_answer(token.as_deref(), message.as_deref()))]
    Http {
        op: Operation,
        status: u16,
        /// The `error` field of the body, when the body is the documented JSON.
        token: Option<String>,
        /// The `message` field, control characters escaped, shortened.
        message: Option<String>,
        /// The `Retry-After` header as received.
        retry_after: Option<String>,
    },
    /// No answer could be read.
    #[error("{op}: {}: {detail}", what.describe())]
    Transport {
        op: Operation,
        what: Transport,
        /// The status, when it arrived before the failure ([`Transport::Body`]).
        status: Option<u16>,
        /// reqwest's chain of causes, without the URL.
        detail: String,
    },
    /// A call id that cannot be sent as a path segment (empty, `.` or `..`: URL rules would
    /// turn it into another route). Nothing was sent; no call has such an id.
    #[error("{op}: {id:?} is not a call id")]
    InvalidCallId { op: Operation, id: String },
    /// A 2xx answer whose body is not what the contract describes.
    #[error("{op}: the API answered {status} with a body that cannot be read: {detail}")]
    BadBody {
        op: Operation,
        status: u16,
        detail: String,
    },
}

fn describe_answer(token: Option<&str>, message: Option<&str>) -> String {
    match (token, message) {
        (Some(token), Some(message)) => format!(" {token}: {message}"),
        (Some(token), None) => format!(" {token}"),
        (None, Some(message)) => format!(": {message}"),
        (None, None) => String::new(),
    }
}

/// What the runner should do about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// Wait at least this long (the server's `Retry-After`), then try again; slow down.
    RetryAfter(Duration),
    /// Nothing happened on the server: try again after an exponential backoff.
    Backoff,
    /// The account's minutes are used up: pause all placements for a long while.
    PauseRun,
    /// Every request would fail the same way (bad key, caller ID, base URL): stop the run.
    StopRun,
    /// This row can never be placed as it is: record why, never retry it.
    RowFatal,
    /// No such call (for `GET /v1/agent/calls/{id}`).
    NotFound,
    /// Only for placing a call: the request may have reached the server and created a call,
    /// but no answer was read. Resolve before placing again (issue 4, "Never twice").
    Ambiguous,
}

impl ErrorClass {
    /// Whether the error says the API is not serving requests now (down, overloaded, out of
    /// minutes, unreachable) rather than anything about this request: the errors that, all
    /// day long, would keep a run waiting and retrying forever.
    pub fn is_outage(self) -> bool {
        matches!(
            self,
            ErrorClass::RetryAfter(_)
                | ErrorClass::Backoff
                | ErrorClass::PauseRun
                | ErrorClass::Ambiguous
        )
    }
}

impl ApiError {
    pub fn operation(&self) -> Operation {
        match self {
            ApiError::Http { op, .. }
            | ApiError::Transport { op, .. }
            | ApiError::BadBody { op, .. }
            | ApiError::InvalidCallId { op, .. } => *op,
        }
    }

    /// The HTTP status, if one was received.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Http { status, .. } | ApiError::BadBody { status, .. } => Some(*status),
            ApiError::Transport { status, .. } => *status,
            ApiError::InvalidCallId { .. } => None,
        }
    }

    /// The `error` token of the answer, if any.
    pub fn token(&self) -> Option<&str> {
        match self {
            ApiError::Http { token, .. } => token.as_deref(),
            _ => None,
        }
    }

    /// The server's human message, if any.
    pub fn message(&self) -> Option<&str> {
        match self {
            ApiError::Http { message, .. } => message.as_deref(),
            _ => None,
        }
    }

    /// The `Retry-After` header, if it was given in whole seconds (capped at
    /// [`MAX_RETRY_AFTER`]). Also useful as a floor for [`ErrorClass::Backoff`].
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            // An HTTP-date is valid too, but turning it into a delay needs a clock and the
            // API documents seconds; such a value is treated as missing.
            ApiError::Http {
                retry_after: Some(text),
                ..
            } => text
                .trim()
                .parse::<u64>()
                .ok()
                .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER)),
            _ => None,
        }
    }

    /// What to do about this error. Pure: depends only on the error (and its operation).
    /// By token first, HTTP status second (bys-api.md, Errors).
    pub fn class(&self) -> ErrorClass {
        let placing = self.operation() == Operation::PlaceCall;
        match self {
            ApiError::Http { status, token, .. } => match token.as_deref().map(ErrorToken::parse) {
                Some(Some(token)) => self.class_of_token(token),
                // The API itself answered, with a token this client does not know.
                Some(None) => self.class_of_status(*status, true),
                None => self.class_of_status(*status, false),
            },
            ApiError::Transport { what, status, .. } => match what {
                // No connection, so no request: safe to send again.
                Transport::Connect => ErrorClass::Backoff,
                // A bad URL fails every request alike.
                Transport::Builder => ErrorClass::StopRun,
                // The body broke after the status arrived: a success may have created a call;
                // an error status says what it says, body or not.
                Transport::Body => match status {
                    Some(s) if !(200..300).contains(s) => self.class_of_status(*s, false),
                    _ => ambiguous_if(placing),
                },
                // The request may have been written and acted on, the answer is lost.
                Transport::Timeout | Transport::Closed | Transport::Other => ambiguous_if(placing),
            },
            // A success we cannot read: for a placement, a call was most likely created and
            // we do not know its id.
            ApiError::BadBody { .. } => ambiguous_if(placing),
            // Never sent, and no call can have that id.
            ApiError::InvalidCallId { .. } => ErrorClass::NotFound,
        }
    }

    fn class_of_token(&self, token: ErrorToken) -> ErrorClass {
        match token {
            ErrorToken::RateLimited => ErrorClass::RetryAfter(retry_after_or_default(self)),
            // Trying again soon cannot help; the account frees minutes over a long time.
            ErrorToken::OverMinuteCap => ErrorClass::PauseRun,
            // The service says nothing was placed (carrier trouble, temporary store error).
            ErrorToken::PlacementFailed | ErrorToken::StoreError => ErrorClass::Backoff,
            // Would fail every row alike: stop with the message rather than burn the list.
            ErrorToken::Unauthorized | ErrorToken::CallerIdNotOwned => ErrorClass::StopRun,
            // Guardrails and validation are about this row's request; it will never pass.
            ErrorToken::InvalidNumber
            | ErrorToken::DestinationBlocked
            | ErrorToken::ToRequired
            | ErrorToken::ObjectiveRequired
            | ErrorToken::InvalidRequest => ErrorClass::RowFatal,
            ErrorToken::NotFound => self.not_found(),
        }
    }

    /// By HTTP status, for answers without a known token; `from_api` when the body had a
    /// token (so the API answered, not something in front of it).
    fn class_of_status(&self, status: u16, from_api: bool) -> ErrorClass {
        let placing = self.operation() == Operation::PlaceCall;
        match status {
            // A 429 never judges the row; marking rows fatal during a storm would lose them.
            429 => ErrorClass::RetryAfter(retry_after_or_default(self)),
            // Authentication or permission trouble fails every request alike.
            401 | 403 => ErrorClass::StopRun,
            404 => self.not_found(),
            // The server gave up waiting for our request, so it did not act on it.
            408 => ErrorClass::Backoff,
            // A gateway (no token: not the API itself) answering "bad gateway" or "gateway
            // timeout" may have forwarded the POST, and the API may have created the call.
            502 | 504 if placing && !from_api => ErrorClass::Ambiguous,
            // Unknown token or no token with 5xx: retryable (bys-api.md).
            500..=599 => ErrorClass::Backoff,
            // Unknown token or no token with another 4xx: not retryable (bys-api.md).
            400..=499 => ErrorClass::RowFatal,
            // 1xx/3xx (redirects are not followed): the base URL points somewhere that is not
            // the API, and every request would get the same.
            _ => ErrorClass::StopRun,
        }
    }

    fn not_found(&self) -> ErrorClass {
        match self.operation() {
            // The call is gone (or another account's).
            Operation::GetCall => ErrorClass::NotFound,
            // Placing or listing has no id to miss: the route itself is missing, so the base
            // URL is wrong and every request would fail.
            Operation::PlaceCall | Operation::ListCalls => ErrorClass::StopRun,
        }
    }
}

fn ambiguous_if(placing: bool) -> ErrorClass {
    // Reads have no side effects: repeating them is always safe.
    if placing {
        ErrorClass::Ambiguous
    } else {
        ErrorClass::Backoff
    }
}

fn retry_after_or_default(err: &ApiError) -> Duration {
    err.retry_after().unwrap_or(DEFAULT_RETRY_AFTER)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ErrorClass::*;
    use Operation::*;

    fn http(op: Operation, status: u16, token: Option<&str>, retry: Option<&str>) -> ApiError {
        ApiError::Http {
            op,
            status,
            token: token.map(str::to_owned),
            message: None,
            retry_after: retry.map(str::to_owned),
        }
    }

    fn transport(op: Operation, what: Transport, status: Option<u16>) -> ApiError {
        ApiError::Transport {
            op,
            what,
            status,
            detail: "x".into(),
        }
    }

    const S5: Duration = DEFAULT_RETRY_AFTER;

    /// Every documented token, at its documented status and at a surprising one (token first),
    /// for each operation: (token, status, class when placing, class when reading).
    #[test]
    fn every_token_has_its_class() {
        let rows: &[(&str, u16, ErrorClass, ErrorClass)] = &[
            ("to_required", 400, RowFatal, RowFatal),
            ("objective_required", 400, RowFatal, RowFatal),
            ("invalid_number", 400, RowFatal, RowFatal),
            ("destination_blocked", 400, RowFatal, RowFatal),
            ("destination_blocked", 403, RowFatal, RowFatal),
            ("invalid_request", 400, RowFatal, RowFatal),
            ("invalid_request", 422, RowFatal, RowFatal),
            ("caller_id_not_owned", 400, StopRun, StopRun),
            ("unauthorized", 401, StopRun, StopRun),
            ("unauthorized", 403, StopRun, StopRun),
            ("rate_limited", 429, RetryAfter(S5), RetryAfter(S5)),
            ("rate_limited", 503, RetryAfter(S5), RetryAfter(S5)),
            ("over_minute_cap", 429, PauseRun, PauseRun),
            ("over_minute_cap", 403, PauseRun, PauseRun),
            ("placement_failed", 503, Backoff, Backoff),
            ("placement_failed", 502, Backoff, Backoff),
            ("store_error", 503, Backoff, Backoff),
            ("store_error", 500, Backoff, Backoff),
            ("store_error", 504, Backoff, Backoff),
        ];
        for &(token, status, placing, reading) in rows {
            let case = format!("{token} {status}");
            assert_eq!(
                http(PlaceCall, status, Some(token), None).class(),
                placing,
                "{case}"
            );
            for op in [GetCall, ListCalls] {
                assert_eq!(
                    http(op, status, Some(token), None).class(),
                    reading,
                    "{case} {op}"
                );
            }
        }
        // not_found depends on what was asked for.
        assert_eq!(
            http(GetCall, 404, Some("not_found"), None).class(),
            NotFound
        );
        assert_eq!(
            http(PlaceCall, 404, Some("not_found"), None).class(),
            StopRun
        );
        assert_eq!(
            http(ListCalls, 404, Some("not_found"), None).class(),
            StopRun
        );
    }

    /// Unknown or absent tokens fall back to the HTTP status:
    /// (token, status, class when placing, class when reading).
    #[test]
    fn unknown_tokens_are_classified_by_status() {
        let rows: &[(Option<&str>, u16, ErrorClass, ErrorClass)] = &[
            (Some("quota_exceeded_v2"), 500, Backoff, Backoff),
            (Some("maintenance"), 503, Backoff, Backoff),
            (Some("carrier_timeout"), 502, Backoff, Backoff),
            (None, 500, Backoff, Backoff),
            (None, 503, Backoff, Backoff),
            (None, 502, Ambiguous, Backoff),
            (None, 504, Ambiguous, Backoff),
            (Some("new_guardrail"), 400, RowFatal, RowFatal),
            (Some("too_long"), 413, RowFatal, RowFatal),
            (None, 400, RowFatal, RowFatal),
            (None, 422, RowFatal, RowFatal),
            (None, 409, RowFatal, RowFatal),
            (Some("token_expired"), 401, StopRun, StopRun),
            (None, 401, StopRun, StopRun),
            (None, 403, StopRun, StopRun),
            (
                Some("concurrency_limited"),
                429,
                RetryAfter(S5),
                RetryAfter(S5),
            ),
            (None, 429, RetryAfter(S5), RetryAfter(S5)),
            (None, 408, Backoff, Backoff),
            (None, 301, StopRun, StopRun),
            (None, 304, StopRun, StopRun),
            (None, 101, StopRun, StopRun),
            // Token matching is exact: the API's tokens are lower snake case.
            (Some("Rate_Limited"), 400, RowFatal, RowFatal),
        ];
        for &(token, status, placing, reading) in rows {
            let case = format!("{token:?} {status}");
            assert_eq!(
                http(PlaceCall, status, token, None).class(),
                placing,
                "{case}"
            );
            assert_eq!(
                http(GetCall, status, token, None).class(),
                reading,
                "{case}"
            );
            assert_eq!(
                http(ListCalls, status, token, None).class(),
                reading,
                "{case}"
            );
        }
        assert_eq!(http(GetCall, 404, None, None).class(), NotFound);
        assert_eq!(http(GetCall, 404, Some("gone"), None).class(), NotFound);
        assert_eq!(http(PlaceCall, 404, None, None).class(), StopRun);
    }

    #[test]
    fn retry_after_is_parsed_defaulted_and_capped() {
        let rows: &[(Option<&str>, Duration)] = &[
            (Some("50"), Duration::from_secs(50)),
            (Some(" 7 "), Duration::from_secs(7)),
            (Some("0"), Duration::ZERO),
            (None, S5),
            (Some(""), S5),
            (Some("soon"), S5),
            (Some("-3"), S5),
            (Some("1.5"), S5),
            (Some("Wed, 21 Oct 2026 07:28:00 GMT"), S5),
            (Some("99999999"), MAX_RETRY_AFTER),
        ];
        for &(header, expected) in rows {
            let err = http(PlaceCall, 429, Some("rate_limited"), header);
            assert_eq!(err.class(), RetryAfter(expected), "{header:?}");
        }
        // A Retry-After on another answer is exposed as a floor for the backoff.
        let err = http(PlaceCall, 503, Some("store_error"), Some("12"));
        assert_eq!(err.class(), Backoff);
        assert_eq!(err.retry_after(), Some(Duration::from_secs(12)));
        assert_eq!(http(PlaceCall, 503, None, None).retry_after(), None);
    }

    /// (what, status before the failure, class when placing, class when reading).
    #[test]
    fn transport_failures_are_ambiguous_only_when_placing() {
        let rows: &[(Transport, Option<u16>, ErrorClass, ErrorClass)] = &[
            (Transport::Connect, None, Backoff, Backoff),
            (Transport::Timeout, None, Ambiguous, Backoff),
            (Transport::Closed, None, Ambiguous, Backoff),
            (Transport::Other, None, Ambiguous, Backoff),
            (Transport::Body, Some(200), Ambiguous, Backoff),
            (Transport::Body, Some(201), Ambiguous, Backoff),
            (Transport::Body, None, Ambiguous, Backoff),
            (Transport::Body, Some(503), Backoff, Backoff),
            (Transport::Body, Some(400), RowFatal, RowFatal),
            (Transport::Body, Some(401), StopRun, StopRun),
            (Transport::Body, Some(429), RetryAfter(S5), RetryAfter(S5)),
            (Transport::Builder, None, StopRun, StopRun),
        ];
        for &(what, status, placing, reading) in rows {
            let case = format!("{what:?} {status:?}");
            assert_eq!(
                transport(PlaceCall, what, status).class(),
                placing,
                "{case}"
            );
            assert_eq!(transport(GetCall, what, status).class(), reading, "{case}");
            assert_eq!(
                transport(ListCalls, what, status).class(),
                reading,
                "{case}"
            );
        }
    }

    #[test]
    fn an_unreadable_success_is_ambiguous_only_when_placing() {
        let bad = |op| ApiError::BadBody {
            op,
            status: 200,
            detail: "expected value at line 1 column 1".into(),
        };
        assert_eq!(bad(PlaceCall).class(), Ambiguous);
        assert_eq!(bad(GetCall).class(), Backoff);
        assert_eq!(bad(ListCalls).class(), Backoff);
    }

    #[test]
    fn an_unsendable_id_is_not_found() {
        let err = ApiError::InvalidCallId {
            op: GetCall,
            id: "..".into(),
        };
        assert_eq!(err.class(), NotFound);
        assert_eq!(err.status(), None);
        assert_eq!(
            err.to_string(),
            "GET /v1/agent/calls/{id}: \"..\" is not a call id"
        );
    }

    #[test]
    fn accessors_and_messages() {
        let err = ApiError::Http {
            op: PlaceCall,
            status: 400,
            token: Some("invalid_number".into()),
            message: Some("to must be E.164".into()),
            retry_after: None,
        };
        assert_eq!(
            err.to_string(),
            "POST /v1/agent/calls: the API answered 400 invalid_number: to must be E.164"
        );
        assert_eq!(
            (err.status(), err.token(), err.message()),
            (Some(400), Some("invalid_number"), Some("to must be E.164"))
        );
        assert_eq!(
            http(GetCall, 503, None, None).to_string(),
            "GET /v1/agent/calls/{id}: the API answered 503"
        );
        let err = transport(ListCalls, Transport::Connect, None);
        assert_eq!(
            err.to_string(),
            "GET /v1/agent/calls: cannot connect to the API: x"
        );
        assert_eq!(
            (err.status(), err.token(), err.message()),
            (None, None, None)
        );
        assert_eq!(
            transport(GetCall, Transport::Body, Some(200)).status(),
            Some(200)
        );
    }
}
