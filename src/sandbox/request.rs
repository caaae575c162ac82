//! Validation of a `POST /v1/agent/calls` body into a [`PlaceCall`], in the order the contract's
//! guardrails run: required fields, number format, destination, field definitions, caller ID.
//!
//! Unknown keys are ignored (the real API grows; old clients must keep working).

use serde_json::{Map, Value};

use crate::phone::{self, SUPPORTED_COUNTRIES};

use super::error::{ApiError, ErrorToken};
use super::outcome::{Magic, magic};

/// The most `fields` a call may request.
pub const MAX_FIELDS: usize = 20;

/// The type of a requested field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    String,
    Boolean,
    Number,
}

/// One field the call should extract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub kind: FieldType,
    pub description: Option<String>,
}

/// A validated request to place a call.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceCall {
    pub to: String,
    pub objective: String,
    pub context: Option<String>,
    pub fields: Vec<Field>,
    pub webhook_url: Option<String>,
    /// The caller ID to use: the requested one, or the account's first.
    pub caller_id: String,
    pub voice: Option<String>,
    pub language: Option<String>,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorToken::InvalidRequest, message)
}

fn optional_string(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, ApiError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(format!("`{key}` must be a string"))),
    }
}

/// Whether `to` has the shape of an E.164 number: `+`, then 8 to 15 digits, no leading 0.
fn is_e164_shape(to: &str) -> bool {
    let Some(digits) = to.strip_prefix('+') else {
        return false;
    };
    (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// Checks the destination: format first (`invalid_number`), then guardrails
/// (`destination_blocked`).
pub fn check_destination(to: &str) -> Result<(), ApiError> {
    if !is_e164_shape(to) {
        return Err(ApiError::new(
            ErrorToken::InvalidNumber,
            format!("`to` must be an E.164 number such as +14155550123, not {to:?}"),
        ));
    }
    let blocked = |why: &str| {
        Err(ApiError::new(
            ErrorToken::DestinationBlocked,
            format!("calls to {to} are not allowed: {why}"),
        ))
    };
    // Premium-rate NANP numbers are blocked before anything else looks at them.
    if to.starts_with("+1900") || to.starts_with("+1976") {
        return blocked("premium-rate number");
    }
    if magic(to) == Some(Magic::DestinationBlocked) {
        return blocked("sandbox test number ending in 0197 is always blocked");
    }
    let invalid_number = || {
        ApiError::new(
            ErrorToken::InvalidNumber,
            format!("{to} is not a valid phone number"),
        )
    };
    let parsed = phone::destination(to).ok_or_else(invalid_number)?;
    // A country code none of the allowed countries uses (satellite +881, networks +882/3,
    // France +33, …) is blocked whatever the rest of the number looks like.
    if !phone::is_supported(parsed.country_code) {
        return blocked("the country is not supported (US, CA, GB, AU, NZ and IL only)");
    }
    if !parsed.valid {
        return Err(invalid_number());
    }
    match parsed.region {
        Some(id) if SUPPORTED_COUNTRIES.contains(&id) => {}
        Some(id) => return blocked(&format!("country {id:?} is not supported")),
        None => return blocked("unknown country"),
    }
    if parsed.premium_rate {
        return blocked("premium-rate number");
    }
    Ok(())
}

/// Validates a raw request body. `caller_ids` are the account's numbers, the first being the
/// default.
pub fn validate(raw: &[u8], caller_ids: &[String]) -> Result<PlaceCall, ApiError> {
    let body: Value = serde_json::from_slice(raw)
        .map_err(|err| invalid(format!("the body is not valid JSON: {err}")))?;
    let Value::Object(obj) = &body else {
        return Err(invalid("the body must be a JSON object"));
    };

    let to = match obj.get("to") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(invalid("`to` must be a string")),
    };
    let to = to.ok_or_else(|| ApiError::new(ErrorToken::ToRequired, "`to` is required"))?;
    let objective = match obj.get("objective") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(invalid("`objective` must be a string")),
    };
    let objective = objective
        .ok_or_else(|| ApiError::new(ErrorToken::ObjectiveRequired, "`objective` is required"))?;

    check_destination(&to)?;

    let context = optional_string(obj, "context")?;
    let fields = parse_fields(obj.get("fields"))?;
    let webhook_url = optional_string(obj, "webhookUrl")?;
    if let Some(url) = &webhook_url {
        check_webhook_url(url)?;
    }
    let voice = optional_string(obj, "voice")?;
    let language = optional_string(obj, "language")?;

    let caller_id = match optional_string(obj, "callerId")? {
        None => caller_ids
            .first()
            .cloned()
            .ok_or_else(|| invalid("the account has no caller ID"))?,
        Some(id) if caller_ids.contains(&id) => id,
        Some(id) => {
            return Err(ApiError::new(
                ErrorToken::CallerIdNotOwned,
                format!("caller ID {id} is not a number on this account"),
            ));
        }
    };

    Ok(PlaceCall {
        to,
        objective,
        context,
        fields,
        webhook_url,
        caller_id,
        voice,
        language,
    })
}

fn parse_fields(value: Option<&Value>) -> Result<Vec<Field>, ApiError> {
    let items = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(invalid("`fields` must be an array")),
    };
    if items.len() > MAX_FIELDS {
        return Err(invalid(format!(
            "`fields` has {} items; at most {MAX_FIELDS} are allowed",
            items.len()
        )));
    }
    let mut fields: Vec<Field> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Value::Object(obj) = item else {
            return Err(invalid(format!("`fields[{i}]` must be an object")));
        };
        let name = match obj.get("name") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            _ => {
                return Err(invalid(format!(
                    "`fields[{i}].name` must be a non-empty string"
                )));
            }
        };
        if fields.iter().any(|f| f.name == name) {
            return Err(invalid(format!("field `{name}` is requested twice")));
        }
        let kind = match obj.get("type") {
            None | Some(Value::Null) => FieldType::String,
            Some(Value::String(s)) if s == "string" => FieldType::String,
            Some(Value::String(s)) if s == "boolean" => FieldType::Boolean,
            Some(Value::String(s)) if s == "number" => FieldType::Number,
            Some(other) => {
                return Err(invalid(format!(
                    "`fields[{i}].type` is {other}; use \"string\", \"boolean\" or \"number\""
                )));
            }
        };
        let description = optional_string(obj, "description")
            .map_err(|_| invalid(format!("`fields[{i}].description` must be a string")))?;
        fields.push(Field {
            name,
            kind,
            description,
        });
    }
    Ok(fields)
}

/// The real service wants public HTTPS; the sandbox also accepts plain HTTP to loopback so local
/// receivers work.
fn check_webhook_url(url: &str) -> Result<(), ApiError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|_| invalid(format!("`webhookUrl` {url:?} is not a URL")))?;
    let loopback = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(invalid(
            "`webhookUrl` must be an https:// URL (or http:// to 127.0.0.1 in the sandbox)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned() -> Vec<String> {
        vec!["+14155550100".to_string(), "+14155550101".to_string()]
    }

    fn token(body: &str) -> Result<PlaceCall, &'static str> {
        validate(body.as_bytes(), &owned()).map_err(|e| e.token.as_str())
    }

    #[test]
    fn destinations() {
        let cases = [
            ("+14155550123", Ok(())),
            ("+16045550123", Ok(())),
            ("+442079460123", Ok(())),
            ("+61291234567", Ok(())),
            ("+6493001234", Ok(())),
            ("+972231234567", Err("invalid_number")),
            ("+97223123456", Ok(())),
            ("+19005550123", Err("destination_blocked")),
            ("+14155550197", Err("destination_blocked")),
            ("+33612345678", Err("destination_blocked")),
            ("+8816555555", Err("destination_blocked")),
            ("+18765550123", Err("destination_blocked")),
            ("4155550123", Err("invalid_number")),
            ("+1 415 555 0123", Err("invalid_number")),
            ("+1415", Err("invalid_number")),
            ("+0123456789", Err("invalid_number")),
        ];
        for (to, expected) in cases {
            assert_eq!(
                check_destination(to).map_err(|e| e.token.as_str()),
                expected,
                "{to}"
            );
        }
    }

    #[test]
    fn required_fields_and_types() {
        assert_eq!(token(r#"{"objective":"x"}"#).unwrap_err(), "to_required");
        assert_eq!(
            token(r#"{"to":"","objective":"x"}"#).unwrap_err(),
            "to_required"
        );
        assert_eq!(
            token(r#"{"to":"+14155550123"}"#).unwrap_err(),
            "objective_required"
        );
        assert_eq!(
            token(r#"{"to":5,"objective":"x"}"#).unwrap_err(),
            "invalid_request"
        );
        assert_eq!(
            token(r#"{"to":"+14155550123""#).unwrap_err(),
            "invalid_request"
        );
        assert_eq!(token("[]").unwrap_err(), "invalid_request");
        let ok = token(r#"{"to":"+14155550123","objective":"Ask","fields":[{"name":"a"},{"name":"b","type":"number"},{"name":"c","type":"boolean","description":"d"}]}"#).unwrap();
        assert_eq!(ok.caller_id, "+14155550100");
        assert_eq!(
            ok.fields.iter().map(|f| f.kind).collect::<Vec<_>>(),
            [FieldType::String, FieldType::Number, FieldType::Boolean]
        );
    }

    #[test]
    fn field_rules() {
        let many: Vec<String> = (0..21).map(|i| format!(r#"{{"name":"f{i}"}}"#)).collect();
        let body = format!(
            r#"{{"to":"+14155550123","objective":"x","fields":[{}]}}"#,
            many.join(",")
        );
        assert_eq!(token(&body).unwrap_err(), "invalid_request");
        let twenty = &many[..20].join(",");
        let body = format!(r#"{{"to":"+14155550123","objective":"x","fields":[{twenty}]}}"#);
        assert_eq!(token(&body).unwrap().fields.len(), 20);
        for bad in [
            r#"[{"name":"a","type":"date"}]"#,
            r#"[{"type":"string"}]"#,
            r#"[{"name":"a"},{"name":"a"}]"#,
            r#"["a"]"#,
            r#"{"name":"a"}"#,
        ] {
            let body = format!(r#"{{"to":"+14155550123","objective":"x","fields":{bad}}}"#);
            assert_eq!(token(&body).unwrap_err(), "invalid_request", "{bad}");
        }
    }

    #[test]
    fn caller_ids_and_webhooks() {
        let base = r#""to":"+14155550123","objective":"x""#;
        assert_eq!(
            token(&format!(r#"{{{base},"callerId":"+14155550101"}}"#))
                .unwrap()
                .caller_id,
            "+14155550101"
        );
        assert_eq!(
            token(&format!(r#"{{{base},"callerId":"+14155550102"}}"#)).unwrap_err(),
            "caller_id_not_owned"
        );
        for ok in [
            "https://example.com/hook",
            "http://127.0.0.1:9/h",
            "http://localhost/h",
        ] {
            assert!(
                token(&format!(r#"{{{base},"webhookUrl":"{ok}"}}"#)).is_ok(),
                "{ok}"
            );
        }
        for bad in ["http://example.com/hook", "not a url", "ftp://127.0.0.1/"] {
            assert_eq!(
                token(&format!(r#"{{{base},"webhookUrl":"{bad}"}}"#)).unwrap_err(),
                "invalid_request",
                "{bad}"
            );
        }
    }
}
