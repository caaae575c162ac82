//! Helpers for unit tests: a campaign written to a temp folder and loaded for real.

use std::path::Path;

use super::Campaign;

/// Writes `c.yaml` (the given body, with `input.path: c.csv`) and `c.csv` into `dir`, and loads it.
pub fn campaign(dir: &Path, input_extra: &str, rest: &str, csv: &str) -> Campaign {
    let yaml = format!(
        "name: t\ninput:\n  path: c.csv\n  default_region: US\n{input_extra}call:\n  objective: Hi {{{{ name }}}}\n{rest}"
    );
    std::fs::write(dir.join("c.yaml"), yaml).expect("write campaign");
    std::fs::write(dir.join("c.csv"), csv).expect("write csv");
    Campaign::load(&dir.join("c.yaml")).expect("test campaign loads")
}
