//! A webhook receiver on 127.0.0.1:0 that records every delivery and can be told to fail the
//! first attempts of each event.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;

/// One delivery as received.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub signature: Option<String>,
    pub body: Bytes,
    /// What the receiver answered.
    pub answered: u16,
}

impl Delivery {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Debug, Default)]
struct Inner {
    deliveries: Vec<Delivery>,
    seen: HashMap<String, u32>,
}

/// The running receiver.
#[derive(Debug, Clone)]
pub struct Receiver {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
}

impl Receiver {
    /// Starts a receiver that answers 500 to the first `fail_first` attempts of each `eventId`.
    pub async fn start(fail_first: u32) -> Receiver {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state((Arc::clone(&inner), fail_first));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url, inner }
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.inner.lock().unwrap().deliveries.clone()
    }
}

async fn receive(
    State((inner, fail_first)): State<(Arc<Mutex<Inner>>, u32)>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let event_id = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["eventId"].as_str().map(str::to_string))
        .unwrap_or_default();
    let mut inner = inner.lock().unwrap();
    let seen = inner.seen.entry(event_id).or_default();
    *seen += 1;
    let status = if *seen <= fail_first {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    inner.deliveries.push(Delivery {
        signature: headers
            .get("x-bys-signature")
            .map(|v| v.to_str().unwrap().to_string()),
        body,
        answered: status.as_u16(),
    });
    status
}
