//! The HTTP side: the API routes under `/v1`, the inspection routes under `/sandbox`, and the
//! accept loop.
//!
//! The accept loop is our own (hyper directly, not `axum::serve`) for one reason:
//! `--drop-after-create` must close a connection without writing any answer. A handler marks
//! its response with [`DropConnection`]; the per-connection service turns that into a service
//! error, and hyper's HTTP/1 dispatcher then drops the connection without writing a byte —
//! exactly what a client sees when a load balancer dies mid-request.
//!
//! Order of checks for `POST /v1/agent/calls`: a request held on its way (`--late-create`) is
//! put aside first, its connection closed, and handled later from the top; then latency, auth,
//! rate limit, body validation and guardrails, minute cap, random errors, magic placement
//! failures; only then is the call created. Nothing before creation leaves a call behind.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

use super::Shared;
use super::calls::{self, Call};
use super::error::{ApiError, ErrorToken};
use super::outcome::{self, Magic};
use super::{content, new_uuid, request, webhooks};

/// Marks a response that must not be written: the connection is closed instead.
#[derive(Debug, Clone, Copy)]
pub struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped on purpose (--drop-after-create, --late-create)")
    }
}

impl std::error::Error for DropConnection {}

/// How long open connections may take to finish once shutdown starts.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The sandbox's routes.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/agent/calls", post(place_call).get(list_calls))
        .route("/v1/agent/calls/{id}", get(get_call))
        .route("/v1/agent/calls/{id}/recording", get(get_recording))
        .route("/sandbox/calls", get(sandbox_calls))
        .route("/sandbox/webhooks", get(sandbox_webhooks))
        .route("/sandbox/clock", get(sandbox_clock))
        .fallback(|| async { ApiError::new(ErrorToken::NotFound, "no such route") })
        .with_state(shared)
}

/// Serves `router` on `listener` until `shutdown` turns true.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            () = super::stopped(&mut shutdown) => break,
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _peer)) => stream,
                    Err(err) => {
                        // Usually EMFILE under load: back off briefly instead of spinning.
                        tracing::warn!(%err, "accept failed");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let router = router.clone();
                let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                    let router = router.clone();
                    async move {
                        let response = match router.oneshot(req.map(Body::new)).await {
                            Ok(response) => response,
                            Err(never) => match never {},
                        };
                        if response.extensions().get::<DropConnection>().is_some() {
                            return Err(DropConnection);
                        }
                        Ok::<_, DropConnection>(response)
                    }
                });
                let connection = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .serve_connection(TokioIo::new(stream), service);
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    if let Err(err) = connection.await {
                        tracing::debug!(%err, "connection ended with an error");
                    }
                });
            }
        }
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::debug!("connections still open after the shutdown grace period");
    }
}

/// The API key of a request, checked against the account's rule.
fn authenticate(shared: &Shared, headers: &HeaderMap) -> Result<String, ApiError> {
    let unauthorized = || ApiError::new(ErrorToken::Unauthorized, "missing or invalid API key");
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(unauthorized)?;
    let (scheme, key) = value.trim().split_once(' ').ok_or_else(unauthorized)?;
    let key = key.trim();
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(unauthorized());
    }
    let ok = match &shared.config.api_key {
        Some(required) => key == required,
        None => key.len() > "bys_ak_".len() && key.starts_with("bys_ak_"),
    };
    if ok {
        Ok(key.to_string())
    } else {
        Err(unauthorized())
    }
}

/// What every API route does first: wait the configured latency, then authenticate.
async fn admit(shared: &Shared, headers: &HeaderMap) -> Result<String, ApiError> {
    if !shared.config.faults.latency.is_zero() {
        tokio::time::sleep(shared.config.faults.latency).await;
    }
    authenticate(shared, headers)
}

/// `--error-rate` for requests that do not place a call.
fn random_store_error(shared: &Shared) -> Result<(), ApiError> {
    let p = shared.config.faults.error_rate;
    if shared.dice.lock().expect("dice lock").flip(p) {
        return Err(ApiError::new(
            ErrorToken::StoreError,
            "temporary service error (injected by --error-rate)",
        ));
    }
    Ok(())
}

async fn place_call(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let faults = &shared.config.faults;
    if let Some(delay) = faults.late_create
        && shared
            .dice
            .lock()
            .expect("dice lock")
            .flip(faults.late_create_rate)
    {
        // Held on its way: the client hears nothing, and the API sees the request later.
        let held = Arc::clone(&shared);
        let deadline = shared.clock.now() + delay;
        tokio::spawn(async move {
            held.clock.sleep_until(deadline).await;
            let _ = place(&held, &headers, &body).await;
        });
        let mut response = StatusCode::OK.into_response();
        response.extensions_mut().insert(DropConnection);
        return Ok(response);
    }
    place(&shared, &headers, &body).await
}

/// `POST /v1/agent/calls` as the API handles it once the request has arrived.
async fn place(
    shared: &Arc<Shared>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let key = admit(shared, headers).await?;
    let now = shared.clock.now();

    if let Some(limit) = shared.config.faults.rate_limit {
        let mut windows = shared.windows.lock().expect("windows lock");
        if let Err(wait) = windows.entry(key.clone()).or_default().admit(now, limit) {
            let mut err = ApiError::new(
                ErrorToken::RateLimited,
                format!("the limit of {limit} calls per minute is reached; retry in {wait} s"),
            );
            err.retry_after = Some(wait);
            return Err(err);
        }
    }

    let req = request::validate(body, &shared.config.caller_ids)?;

    if let Some(cap) = shared.config.faults.minute_cap {
        let used = shared.store.lock().expect("store lock").talk_used_at(now);
        if used >= Duration::from_secs(u64::from(cap) * 60) {
            return Err(ApiError::new(
                ErrorToken::OverMinuteCap,
                format!("the account's {cap} outbound minutes are used up"),
            ));
        }
    }

    let magic = outcome::magic(&req.to);
    let counts = shared
        .store
        .lock()
        .expect("store lock")
        .note_attempt(&req.to);
    let injected = {
        let mut dice = shared.dice.lock().expect("dice lock");
        if dice.flip(shared.config.faults.error_rate) {
            // Half the injected failures are each kind, so clients meet both.
            Some(if dice.flip(0.5) {
                ErrorToken::PlacementFailed
            } else {
                ErrorToken::StoreError
            })
        } else {
            None
        }
    };
    if let Some(token) = injected {
        return Err(ApiError::new(
            token,
            "temporary failure (injected by --error-rate)",
        ));
    }
    match magic {
        Some(Magic::PlacementFailed) => {
            return Err(ApiError::new(
                ErrorToken::PlacementFailed,
                "the carrier refused the call (sandbox test number ending in 0196)",
            ));
        }
        Some(Magic::PlacementFailedThenCompleted) if counts.attempts == 0 => {
            return Err(ApiError::new(
                ErrorToken::PlacementFailed,
                "the carrier refused the call (sandbox test number 555-0199, first attempt)",
            ));
        }
        _ => {}
    }

    let idempotency_key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let created_at = now.round(jiff::Unit::Millisecond).unwrap_or(now);
    let answer = {
        let (language, language_source) = calls::language(&req);
        json!({"status": "queued", "language": language, "languageSource": language_source, "voice": calls::voice(&req)})
    };
    // Drawn before the store is locked: the two locks are never held together.
    let empty = shared
        .dice
        .lock()
        .expect("dice lock")
        .flip(shared.config.faults.empty_rate);
    let call = {
        let mut store = shared.store.lock().expect("store lock");
        let nth = store.counts(&req.to).placed;
        let plan = outcome::unstick(
            outcome::draw(shared.config.seed, &req.to, nth, &shared.config.outcomes),
            shared.config.faults.stuck_minutes,
        );
        let raw = String::from_utf8_lossy(body).into_owned();
        let mut call = Call::new(
            new_uuid().to_string(),
            key,
            idempotency_key,
            created_at,
            req,
            raw,
            nth,
            plan,
        );
        if empty {
            content::obtain_nothing(&mut call.content, &call.plan);
        }
        store.insert(call)
    };
    for job in webhooks::jobs_for(&call) {
        // The scheduler only stops at shutdown, when undelivered events no longer matter.
        let _ = shared.webhooks.send(job);
    }
    if let Some(ledger) = &shared.ledger {
        let mut line = call.inspection_at(created_at, &shared.base_url).to_string();
        line.push('\n');
        let mut file = ledger.lock().expect("ledger lock");
        if let Err(err) = file.write_all(line.as_bytes()) {
            tracing::warn!(%err, "cannot append to the ledger");
        }
    }

    let mut answer = answer;
    answer["callId"] = json!(call.id);
    let mut response = (StatusCode::OK, axum::Json(answer)).into_response();
    if shared
        .dice
        .lock()
        .expect("dice lock")
        .flip(shared.config.faults.drop_after_create)
    {
        response.extensions_mut().insert(DropConnection);
    }
    Ok(response)
}

fn find_call(shared: &Shared, key: &str, id: &str) -> Result<Arc<Call>, ApiError> {
    let store = shared.store.lock().expect("store lock");
    match store.get(id) {
        // Another account's call is as invisible as one that does not exist.
        Some(call) if call.api_key == key => Ok(Arc::clone(call)),
        _ => Err(ApiError::new(
            ErrorToken::NotFound,
            format!("no call with id {id:?}"),
        )),
    }
}

async fn get_call(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let key = admit(&shared, &headers).await?;
    random_store_error(&shared)?;
    let call = find_call(&shared, &key, &id)?;
    call.reads
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(axum::Json(
        call.record_at(shared.clock.now(), &shared.base_url),
    ))
}

/// Parses `limit` from the query string: 1..=100, default 20.
fn parse_limit(query: Option<&str>) -> Result<usize, ApiError> {
    let mut limit = 20;
    for pair in query.unwrap_or("").split('&') {
        let Some(value) = pair.strip_prefix("limit=") else {
            continue;
        };
        limit = match value.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => {
                return Err(ApiError::new(
                    ErrorToken::InvalidRequest,
                    format!("limit must be a whole number from 1 to 100, not {value:?}"),
                ));
            }
        };
    }
    Ok(limit)
}

async fn list_calls(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<axum::Json<Value>, ApiError> {
    let key = admit(&shared, &headers).await?;
    let limit = parse_limit(query.as_deref())?;
    random_store_error(&shared)?;
    let now = shared.clock.now();
    let recent = shared.store.lock().expect("store lock").recent(&key, limit);
    let calls: Vec<Value> = recent
        .iter()
        .map(|c| c.record_at(now, &shared.base_url))
        .collect();
    Ok(axum::Json(json!({ "calls": calls })))
}

async fn get_recording(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let key = admit(&shared, &headers).await?;
    random_store_error(&shared)?;
    let call = find_call(&shared, &key, &id)?;
    let record = call.record_at(shared.clock.now(), &shared.base_url);
    if record["recordingUrl"].is_null() {
        return Err(ApiError::new(
            ErrorToken::NotFound,
            "this call has no recording (not answered, or not finished yet)",
        ));
    }
    Ok((
        [(header::CONTENT_TYPE, "audio/wav")],
        wav(call.plan.content_seed),
    )
        .into_response())
}

/// A one-second, 8 kHz, 16-bit mono WAV: a quiet tone whose pitch depends on the call.
pub fn wav(seed: u64) -> Vec<u8> {
    const RATE: u32 = 8_000;
    let samples = RATE as usize;
    let pitch = 300.0 + (seed % 400) as f64;
    let data_len = (samples * 2) as u32;
    let mut out = Vec::with_capacity(44 + samples * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes()); // fmt chunk size
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&RATE.to_le_bytes());
    out.extend_from_slice(&(RATE * 2).to_le_bytes()); // byte rate
    out.extend_from_slice(&2u16.to_le_bytes()); // block align
    out.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..samples {
        let t = i as f64 / f64::from(RATE);
        let sample = (2_000.0 * (2.0 * std::f64::consts::PI * pitch * t).sin()) as i16;
        out.extend_from_slice(&sample.to_le_bytes());
    }
    out
}

/// Every call, oldest first, in the inspection shape.
pub(crate) fn inspect_calls(shared: &Shared) -> Vec<Value> {
    let now = shared.clock.now();
    let store = shared.store.lock().expect("store lock");
    store
        .all()
        .iter()
        .map(|c| c.inspection_at(now, &shared.base_url))
        .collect()
}

async fn sandbox_calls(State(shared): State<Arc<Shared>>) -> axum::Json<Value> {
    axum::Json(json!({ "calls": inspect_calls(&shared) }))
}

async fn sandbox_webhooks(State(shared): State<Arc<Shared>>) -> axum::Json<Value> {
    let attempts = shared.deliverer.log.lock().expect("log lock").clone();
    axum::Json(json!({ "attempts": attempts }))
}

async fn sandbox_clock(State(shared): State<Arc<Shared>>) -> axum::Json<Value> {
    axum::Json(json!({
        "now": shared.clock.now().to_string(),
        // The clock's own rate: `null` for a manual clock, whatever the config says.
        "timeScale": shared.clock.scale(),
        "seed": shared.config.seed,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        assert_eq!(parse_limit(None).unwrap(), 20);
        assert_eq!(parse_limit(Some("limit=1")).unwrap(), 1);
        assert_eq!(parse_limit(Some("x=1&limit=100")).unwrap(), 100);
        for bad in ["limit=0", "limit=101", "limit=ten", "limit="] {
            assert_eq!(
                parse_limit(Some(bad)).unwrap_err().token,
                ErrorToken::InvalidRequest,
                "{bad}"
            );
        }
    }

    #[test]
    fn the_recording_is_a_valid_wav() {
        let wav = wav(7);
        assert_eq!(&wav[..4], b"RIFF");
        assert_eq!(&wav[8..16], b"WAVEfmt ");
        let riff_len = u32::from_le_bytes(wav[4..8].try_into().unwrap()) as usize;
        assert_eq!(riff_len + 8, wav.len());
        let data_len = u32::from_le_bytes(wav[40..44].try_into().unwrap()) as usize;
        assert_eq!(data_len + 44, wav.len());
    }
}
