//! The page's one Tera template and its one script, compiled into the binary, and the
//! Content-Security-Policy that lets the browser run that script and load nothing else.
//!
//! The template's name ends in `.html`, so Tera escapes every value it prints; only the SVG
//! charts (ours, see `charts`) and the script are printed with `| safe`. The policy names the
//! script by its SHA-256: an injected `<script>` or `onerror=` attribute would not run even if
//! a value escaped escaping, and `default-src 'none'` stops any request (images, fonts, frames,
//! fetches) the page could make.

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::Page;

const TEMPLATE: &str = include_str!("templates/report.html");
/// Sorts the tables of rows needing attention and of runs by a clicked column.
pub const SCRIPT: &str = include_str!("templates/sort.js");

/// The policy of the page: its inline styles, its one script, nothing from anywhere.
pub fn content_security_policy() -> String {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(SCRIPT));
    format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{hash}'; \
         base-uri 'none'; form-action 'none'"
    )
}

pub fn render(page: &Page) -> Result<String, String> {
    let mut tera = tera::Tera::new();
    tera.add_raw_template("report.html", TEMPLATE)
        .map_err(|e| e.to_string())?;
    let mut context = tera::Context::new();
    let mut page = serde_json::to_value(page).map_err(|e| e.to_string())?;
    page["csp"] = content_security_policy().into();
    page["script"] = SCRIPT.into();
    if let serde_json::Value::Object(map) = page {
        for (key, value) in map {
            context.insert(key, &value);
        }
    }
    tera.render("report.html", &context)
        .map_err(|e| format!("{e:#}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_the_script_and_allows_nothing_else() {
        let csp = content_security_policy();
        assert!(csp.starts_with("default-src 'none'; "), "{csp}");
        let hash = csp
            .split("'sha256-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(hash)
            .unwrap();
        assert_eq!(decoded, Sha256::digest(SCRIPT).to_vec());
        assert!(!csp.contains("unsafe-inline'; script") || !csp.contains("script-src 'unsafe"));
        assert!(!csp.contains("http"), "no source is allowed: {csp}");
    }
}
