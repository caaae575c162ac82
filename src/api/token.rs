//! The error tokens of the API contract (`bys-api.md`, "Errors"): one type for the client,
//! which classifies them, and the sandbox, which answers with them.

/// Every error token of the API (see `bys-api.md`, "Errors").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorToken {
    ToRequired,
    ObjectiveRequired,
    InvalidNumber,
    DestinationBlocked,
    CallerIdNotOwned,
    InvalidRequest,
    Unauthorized,
    NotFound,
    RateLimited,
    OverMinuteCap,
    PlacementFailed,
    StoreError,
}

impl ErrorToken {
    /// Every token, for tests and documentation.
    pub const ALL: [ErrorToken; 12] = [
        ErrorToken::ToRequired,
        ErrorToken::ObjectiveRequired,
        ErrorToken::InvalidNumber,
        ErrorToken::DestinationBlocked,
        ErrorToken::CallerIdNotOwned,
        ErrorToken::InvalidRequest,
        ErrorToken::Unauthorized,
        ErrorToken::NotFound,
        ErrorToken::RateLimited,
        ErrorToken::OverMinuteCap,
        ErrorToken::PlacementFailed,
        ErrorToken::StoreError,
    ];

    /// The token as it appears in the `error` field.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorToken::ToRequired => "to_required",
            ErrorToken::ObjectiveRequired => "objective_required",
            ErrorToken::InvalidNumber => "invalid_number",
            ErrorToken::DestinationBlocked => "destination_blocked",
            ErrorToken::CallerIdNotOwned => "caller_id_not_owned",
            ErrorToken::InvalidRequest => "invalid_request",
            ErrorToken::Unauthorized => "unauthorized",
            ErrorToken::NotFound => "not_found",
            ErrorToken::RateLimited => "rate_limited",
            ErrorToken::OverMinuteCap => "over_minute_cap",
            ErrorToken::PlacementFailed => "placement_failed",
            ErrorToken::StoreError => "store_error",
        }
    }

    /// The token named by an answer's `error` field; `None` for a token the contract does not
    /// define (the client then classifies by HTTP code).
    pub fn parse(token: &str) -> Option<ErrorToken> {
        ErrorToken::ALL.into_iter().find(|t| t.as_str() == token)
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorToken;

    #[test]
    fn every_token_round_trips_and_unknown_ones_do_not_parse() {
        for token in ErrorToken::ALL {
            assert_eq!(ErrorToken::parse(token.as_str()), Some(token));
        }
        assert_eq!(ErrorToken::parse("teapot"), None);
    }
}
