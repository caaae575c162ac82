//! Reading the report page in tests: its visible text (for snapshots that read like the page),
//! and the parts a test checks (charts, elements).

/// The page's text as a reader sees it, a line per block: no styles, scripts or chart drawings
/// (each SVG becomes `[chart]`); table cells separated by ` | `; entities decoded.
pub fn text(html: &str) -> String {
    let mut rest = html;
    let mut out = String::new();
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        rest = &rest[open..];
        let end = rest.find('>').map_or(rest.len(), |e| e + 1);
        let tag = rest[1..end.saturating_sub(1)].trim().to_ascii_lowercase();
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let closing = tag.starts_with('/');
        match (name.as_str(), closing) {
            ("style" | "script" | "svg" | "title", false) => {
                let close = format!("</{name}>");
                let skip = rest.find(&close).map_or(rest.len(), |c| c + close.len());
                if name == "svg" {
                    out.push_str("[chart]");
                }
                rest = &rest[skip..];
                continue;
            }
            ("td" | "th", true) => out.push_str(" | "),
            (
                "br" | "tr" | "p" | "li" | "h1" | "h2" | "h3" | "div" | "figcaption" | "caption"
                | "summary" | "pre" | "nav" | "ul" | "table" | "header" | "footer" | "section"
                | "figure" | "details" | "article",
                _,
            ) => out.push('\n'),
            _ => {}
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    let decoded = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x2F;", "/")
        .replace("&amp;", "&");
    decoded
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .map(|l| l.trim_end_matches(" |").trim_start_matches("| ").to_owned())
        .filter(|l| !l.is_empty() && l != "|")
        .collect::<Vec<_>>()
        .join("\n")
}

/// How many elements `<name ...>` the markup holds.
pub fn count_elements(html: &str, name: &str) -> usize {
    let open = format!("<{name}");
    html.match_indices(&open)
        .filter(|(i, _)| {
            html[i + open.len()..]
                .chars()
                .next()
                .is_some_and(|c| c == '>' || c.is_whitespace())
        })
        .count()
}

#[test]
fn text_reads_like_the_page() {
    let html = "<html><head><title>t</title><style>p{}</style></head><body>\
                <h1>Name &amp; co</h1><p>a <b>b</b></p><svg><text>9</text></svg>\
                <table><tr><th>k</th><td>&lt;img&gt;</td></tr></table><script>x()</script></body></html>";
    assert_eq!(text(html), "Name & co\na b\n[chart]\nk | <img>");
    assert_eq!(count_elements("<svg a><svgx><svg>", "svg"), 2);
}
