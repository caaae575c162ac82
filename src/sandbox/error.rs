//! The API's error answers: every token the contract defines, its HTTP status, and the
//! `{"error": "<token>", "message": "<text>"}` body.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub use crate::api::ErrorToken;

impl ErrorToken {
    /// The HTTP status the sandbox answers with.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorToken::ToRequired
            | ErrorToken::ObjectiveRequired
            | ErrorToken::InvalidNumber
            | ErrorToken::DestinationBlocked
            | ErrorToken::CallerIdNotOwned
            | ErrorToken::InvalidRequest => StatusCode::BAD_REQUEST,
            ErrorToken::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorToken::NotFound => StatusCode::NOT_FOUND,
            ErrorToken::RateLimited | ErrorToken::OverMinuteCap => StatusCode::TOO_MANY_REQUESTS,
            ErrorToken::PlacementFailed | ErrorToken::StoreError => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// An error answer: a token, a human message and, for `rate_limited`, a `Retry-After`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub token: ErrorToken,
    pub message: String,
    /// Seconds for the `Retry-After` header.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(token: ErrorToken, message: impl Into<String>) -> ApiError {
        ApiError {
            token,
            message: message.into(),
            retry_after: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.token.as_str(), "message": self.message});
        let mut response = (self.token.status(), axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
