//! The `webhook` section: where the receiver listens, the URL the API is given, and the name of
//! the environment variable that holds the signing secret. The secret itself never appears in
//! the file; a value that looks like one is refused so it is not committed by mistake.

use std::net::SocketAddr;

use super::Checker;
use crate::campaign::raw::RawWebhook;
use crate::campaign::{Webhook, defaults};

impl Checker<'_> {
    pub(super) fn webhook(&mut self, raw: &RawWebhook) -> Option<Webhook> {
        let listen_text = raw.listen.as_deref().unwrap_or(defaults::WEBHOOK_LISTEN);
        let listen = match listen_text.trim().parse::<SocketAddr>() {
            Ok(addr) => Some(addr),
            Err(_) => {
                self.report(
                    "webhook.listen",
                    format!("`webhook.listen` {listen_text:?} is not an address and port"),
                )
                .hint = Some(
                    "write an IP address and a port, e.g. 127.0.0.1:8787 (behind a reverse proxy) \
                     or 0.0.0.0:8787 (every interface)"
                        .into(),
                );
                None
            }
        };
        let public_url = match raw.public_url.as_deref() {
            None => Some(None),
            Some(text) => self.public_url(text).map(Some),
        };
        let secret_env = raw
            .secret_env
            .as_deref()
            .unwrap_or(defaults::WEBHOOK_SECRET_ENV);
        let secret_env_ok = self.secret_env(secret_env);
        let (Some(listen), Some(public_url), true) = (listen, public_url, secret_env_ok) else {
            return None;
        };
        Some(Webhook {
            listen,
            public_url,
            secret_env: secret_env.to_owned(),
            public_url_at: self.at("webhook.public_url"),
            secret_env_at: self.at("webhook.secret_env"),
        })
    }

    fn public_url(&mut self, text: &str) -> Option<reqwest::Url> {
        let parsed = reqwest::Url::parse(text.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some());
        if parsed.is_none() {
            self.report(
                "webhook.public_url",
                format!("`webhook.public_url` {text:?} is not an http(s) URL"),
            )
            .hint = Some(
                "the public HTTPS address of a tunnel or reverse proxy that forwards to \
                 `webhook.listen`, e.g. https://hooks.example.com/bys"
                    .into(),
            );
        }
        parsed
    }

    fn secret_env(&mut self, name: &str) -> bool {
        if name.starts_with("whsec_") {
            self.report(
                "webhook.secret_env",
                "`webhook.secret_env` holds what looks like the secret itself",
            )
            .hint = Some(format!(
                "name an environment variable instead (secret_env: {}) and put the secret in it; \
                 a secret in the campaign file ends up in version control",
                defaults::WEBHOOK_SECRET_ENV
            ));
            return false;
        }
        let mut chars = name.chars();
        let ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            self.report(
                "webhook.secret_env",
                format!("`webhook.secret_env` {name:?} is not an environment variable name"),
            )
            .hint = Some(format!(
                "letters, digits and _, e.g. {}",
                defaults::WEBHOOK_SECRET_ENV
            ));
        }
        ok
    }
}
