//! The campaign the runner tests run against the sandbox, as one builder: each test module
//! says what its campaign has of its own (name, limits, retry rules, a suppression list, a
//! webhook section) and writes it with its contacts into a test folder.

use super::Test;

/// A campaign of `contacts.csv` (numbers in the US, keyed by number unless
/// [`Campaign::keyed_by_id`]), whose call confirms `first_name`'s appointment and asks whether
/// they confirmed, with its results in `results.csv`.
#[derive(Debug, Clone)]
pub struct Campaign {
    name: String,
    keyed_by_id: bool,
    fields: bool,
    limits: String,
    retry: String,
    /// The contents of `do-not-call.txt`, the campaign's suppression list.
    suppress: Option<String>,
    more: String,
}

impl Campaign {
    pub fn new(name: &str) -> Campaign {
        Campaign {
            name: name.to_owned(),
            keyed_by_id: false,
            fields: true,
            limits: String::new(),
            retry: String::new(),
            suppress: None,
            more: String::new(),
        }
    }

    /// Rows known by their `id` column rather than their number.
    pub fn keyed_by_id(mut self) -> Campaign {
        self.keyed_by_id = true;
        self
    }

    /// No field to extract.
    pub fn without_fields(mut self) -> Campaign {
        self.fields = false;
        self
    }

    /// Adds lines (indented, as under `limits:`) to the limits.
    pub fn limits(mut self, lines: &str) -> Campaign {
        push_lines(&mut self.limits, lines);
        self
    }

    /// Adds lines (indented, as under `retry:`) to the retry rules.
    pub fn retry(mut self, lines: &str) -> Campaign {
        push_lines(&mut self.retry, lines);
        self
    }

    /// A suppression list, `do-not-call.txt`, with these contents.
    pub fn suppress(mut self, list: &str) -> Campaign {
        self.suppress = Some(list.to_owned());
        self
    }

    /// More YAML after the rest (a `webhook:` section).
    pub fn more(mut self, yaml: &str) -> Campaign {
        self.more.push_str(yaml);
        self
    }

    pub fn yaml(&self) -> String {
        let mut yaml = format!("name: {}\ninput:\n  path: contacts.csv\n", self.name);
        if self.keyed_by_id {
            yaml.push_str("  key_column: id\n");
        }
        yaml.push_str(
            "  default_region: US\ncall:\n  objective: Confirm {{ first_name }}'s appointment.\n",
        );
        if self.fields {
            yaml.push_str(
                "fields:\n  - { name: confirmed, type: boolean, description: Did they confirm? }\n",
            );
        }
        for (section, lines) in [("limits", &self.limits), ("retry", &self.retry)] {
            if !lines.is_empty() {
                yaml.push_str(&format!("{section}:\n{lines}"));
            }
        }
        if self.suppress.is_some() {
            yaml.push_str("suppress: [do-not-call.txt]\n");
        }
        yaml.push_str("output:\n  path: results.csv\n");
        yaml.push_str(&self.more);
        yaml
    }

    /// A test folder with this campaign, `contacts` as its CSV, and its suppression list.
    pub fn write(&self, contacts: &str) -> Test {
        let test = Test::new()
            .file("campaign.yaml", self.yaml())
            .file("contacts.csv", contacts);
        match &self.suppress {
            Some(list) => test.file("do-not-call.txt", list),
            None => test,
        }
    }
}

/// Appends `lines` to `to`, ending with a newline; nothing for blank lines.
fn push_lines(to: &mut String, lines: &str) {
    if lines.trim().is_empty() {
        return;
    }
    to.push_str(lines);
    if !lines.ends_with('\n') {
        to.push('\n');
    }
}

/// `n` plain contacts, `P0`… at 212-555-0101 on (never a magic number), then one contact per
/// magic number `NNNN` given, `MNNNN` at 646-555-NNNN.
pub fn contacts(n: usize, magic: &[&str]) -> String {
    assert!(n <= 89, "only 555-0100..0189 are plain numbers");
    let mut csv = String::from("first_name,phone\n");
    for i in 0..n {
        csv.push_str(&format!("P{i},212-555-01{:02}\n", i + 1));
    }
    for m in magic {
        csv.push_str(&format!("M{m},646-555-{m}\n"));
    }
    csv
}
