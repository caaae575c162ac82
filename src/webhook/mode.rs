//! What `run` needs to start webhook mode: the `webhook` section merged with the `--webhook-*`
//! flags, the secret read from the environment variable it names, and the guards — a live API
//! gets only an `https://` URL; plain HTTP (or no `public_url`, meaning the receiver's own
//! address) is for a sandbox on this machine.
//!
//! Problems are campaign problems (exit 78), located at the key in the file when it comes from
//! there, or naming the flag.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use reqwest::Url;

use crate::campaign::{Campaign, LoadError, Problem, Webhook, defaults, locate::Pos};

/// Where the run's API is, as far as the guards care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api<'a> {
    /// `run --sandbox`: the built-in simulator, delivering on loopback.
    Sandbox,
    /// Any other base URL.
    Url(&'a str),
}

impl Api<'_> {
    /// A sandbox on this machine (built-in, or `bys-campaign sandbox` on a loopback address).
    pub fn is_loopback(self) -> bool {
        match self {
            Api::Sandbox => true,
            Api::Url(url) => Url::parse(url).is_ok_and(|u| {
                let host = u.host_str().unwrap_or_default();
                let host = host.trim_start_matches('[').trim_end_matches(']');
                host.eq_ignore_ascii_case("localhost")
                    || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
            }),
        }
    }
}

/// Webhook mode, ready to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    pub listen: SocketAddr,
    /// The URL a tunnel or proxy makes public; `None`: the receiver's own address.
    pub public_url: Option<Url>,
    pub secret: String,
    /// The secret was made up for this rehearsal (the variable is not set).
    pub secret_generated: bool,
}

impl Setup {
    /// The `webhookUrl` sent with every call, once the receiver is bound to `bound`. The built-in
    /// sandbox always gets the receiver's loopback address (with the public URL's path): it
    /// runs in this process, and a tunnel would only send its deliveries round the world.
    pub fn webhook_url(&self, bound: SocketAddr, api: Api<'_>) -> String {
        let path = self.public_url.as_ref().map_or("/", Url::path);
        match &self.public_url {
            Some(url) if api != Api::Sandbox => url.to_string(),
            _ => {
                let ip = match bound.ip() {
                    ip if ip.is_unspecified() || ip.is_loopback() => {
                        IpAddr::V4(Ipv4Addr::LOCALHOST)
                    }
                    ip => ip,
                };
                format!("http://{}{path}", SocketAddr::new(ip, bound.port()))
            }
        }
    }
}

/// The flags of `run` that set webhook mode.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub listen: Option<SocketAddr>,
    pub public_url: Option<Url>,
}

/// Webhook mode for this run, or `None` (no `webhook` section, no flag). `secret_var` reads an
/// environment variable (a parameter so tests need not change the process environment).
pub fn setup(
    campaign: &Campaign,
    flags: &Flags,
    api: Api<'_>,
    secret_var: impl Fn(&str) -> Option<String>,
) -> Result<Option<Setup>, LoadError> {
    let from_file = campaign.webhook.clone();
    if from_file.is_none() && flags.listen.is_none() && flags.public_url.is_none() {
        return Ok(None);
    }
    let file = from_file.unwrap_or_else(|| Webhook {
        listen: defaults::WEBHOOK_LISTEN.parse().expect("a valid default"),
        public_url: None,
        secret_env: defaults::WEBHOOK_SECRET_ENV.to_owned(),
        public_url_at: None,
        secret_env_at: None,
    });
    let problem = |at: Option<Pos>, message: String, hint: String| LoadError::Invalid {
        file: campaign.file.clone(),
        problems: vec![Problem::new(at, message).hint(hint)],
    };
    let (public_url, url_at, url_named) = match &flags.public_url {
        Some(url) => (Some(url.clone()), None, "--webhook-public-url"),
        None => (
            file.public_url.clone(),
            file.public_url_at,
            "`webhook.public_url`",
        ),
    };
    if let Some(url) = &public_url
        && !matches!(url.scheme(), "http" | "https")
    {
        return Err(problem(
            url_at,
            format!("{url_named} {url} is not an http(s) URL"),
            "e.g. https://hooks.example.com/bys".into(),
        ));
    }
    if !api.is_loopback() {
        match &public_url {
            None => {
                return Err(problem(
                    None,
                    "webhook mode needs a public HTTPS URL for a live API: the service cannot reach \
                     this machine's receiver directly"
                        .into(),
                    "set `webhook.public_url` (or --webhook-public-url) to the https:// address of a \
                     tunnel or reverse proxy that forwards to `webhook.listen`"
                        .into(),
                ));
            }
            Some(url) if url.scheme() != "https" => {
                return Err(problem(
                    url_at,
                    format!("{url_named} {url} is not HTTPS; the service only delivers to https:// URLs"),
                    "put a TLS-terminating tunnel or reverse proxy in front of the receiver and give its \
                     https:// address (plain http is accepted only with a sandbox on this machine)"
                        .into(),
                ));
            }
            Some(_) => {}
        }
    }
    let name = &file.secret_env;
    let (secret, secret_generated) = match secret_var(name).filter(|s| !s.is_empty()) {
        Some(secret) => (secret, false),
        // The built-in sandbox signs with whatever this run tells it.
        None if api == Api::Sandbox => (
            format!("whsec_rehearsal_{}", uuid::Uuid::new_v4().simple()),
            true,
        ),
        None => {
            return Err(problem(
                file.secret_env_at,
                format!(
                    "webhook mode needs the signing secret in the environment variable {name}, which is not set"
                ),
                format!(
                    "export {name}=whsec_… (the webhook signing secret of the account; for \
                     `bys-campaign sandbox` it is whsec_sandbox unless --webhook-secret says otherwise)"
                ),
            ));
        }
    };
    Ok(Some(Setup {
        listen: flags.listen.unwrap_or(file.listen),
        public_url,
        secret,
        secret_generated,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn campaign(webhook: &str) -> (tempfile::TempDir, Campaign) {
        let dir = tempfile::tempdir().unwrap();
        let campaign = crate::campaign::testing::campaign(
            dir.path(),
            "",
            webhook,
            "name,phone\nAna,+14155550101\n",
        );
        (dir, campaign)
    }

    fn env(name: &str) -> Option<String> {
        (name == "HOOK_SECRET").then(|| "whsec_x".to_owned())
    }

    const LIVE: Api<'static> = Api::Url("https://api.byoursideai.com");
    const SECTION: &str = "webhook:\n  listen: 127.0.0.1:9999\n  public_url: http://hooks.example.com/bys\n  secret_env: HOOK_SECRET\n";

    #[test]
    fn without_a_section_or_flag_there_is_no_webhook_mode() {
        let (_dir, campaign) = campaign("");
        assert_eq!(
            setup(&campaign, &Flags::default(), LIVE, env).unwrap(),
            None
        );
    }

    #[test]
    fn a_live_api_gets_only_https() {
        let (_dir, campaign) = campaign(SECTION);
        let err = setup(&campaign, &Flags::default(), LIVE, env)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(":9:15: `webhook.public_url` http://hooks.example.com/bys is not HTTPS"),
            "{err}"
        );
        // A sandbox on loopback takes plain HTTP.
        let local = setup(
            &campaign,
            &Flags::default(),
            Api::Url("http://127.0.0.1:4010"),
            env,
        )
        .unwrap()
        .unwrap();
        assert_eq!(local.secret, "whsec_x");
        assert_eq!(local.listen, "127.0.0.1:9999".parse().unwrap());
        // The flag overrides the file.
        let flags = Flags {
            public_url: Some("https://hooks.example.com/x".parse().unwrap()),
            listen: Some("127.0.0.1:0".parse().unwrap()),
        };
        let live = setup(&campaign, &flags, LIVE, env).unwrap().unwrap();
        let bound = "127.0.0.1:8123".parse().unwrap();
        assert_eq!(live.webhook_url(bound, LIVE), "https://hooks.example.com/x");
        assert_eq!(
            live.webhook_url(bound, Api::Sandbox),
            "http://127.0.0.1:8123/x"
        );
    }

    #[test]
    fn the_secret_comes_from_the_environment_only() {
        let (_dir, campaign) = campaign("webhook:\n  secret_env: MISSING_SECRET\n");
        let local = Api::Url("http://localhost:4010");
        let err = setup(&campaign, &Flags::default(), local, env)
            .unwrap_err()
            .to_string();
        assert!(err.contains(":8:15: webhook mode needs the signing secret in the environment variable MISSING_SECRET"), "{err}");
        assert!(err.contains("hint: export MISSING_SECRET=whsec_"), "{err}");
        // The built-in sandbox makes one up.
        let rehearsal = setup(&campaign, &Flags::default(), Api::Sandbox, env)
            .unwrap()
            .unwrap();
        assert!(rehearsal.secret_generated);
        assert!(rehearsal.secret.starts_with("whsec_rehearsal_"));
        let bound = "0.0.0.0:8787".parse().unwrap();
        assert_eq!(
            rehearsal.webhook_url(bound, local),
            "http://127.0.0.1:8787/"
        );
    }

    #[test]
    fn a_live_api_needs_a_public_url() {
        let flags = Flags {
            listen: Some("127.0.0.1:0".parse().unwrap()),
            public_url: None,
        };
        let (_dir, campaign) = campaign("");
        let err = setup(&campaign, &flags, LIVE, |_| Some("whsec_x".into()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("needs a public HTTPS URL"), "{err}");
    }

    #[test]
    fn loopback_means_this_machine() {
        assert!(Api::Url("http://127.0.0.1:1").is_loopback());
        assert!(Api::Url("http://[::1]:1").is_loopback());
        assert!(Api::Url("http://LOCALHOST:1").is_loopback());
        assert!(!Api::Url("https://api.byoursideai.com").is_loopback());
        assert!(!Api::Url("http://10.0.0.1").is_loopback());
    }
}
