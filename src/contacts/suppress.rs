//! Suppression ("do not call") lists: numbers never to call, whatever the contacts CSV says.
//!
//! A file is either one number per line (`#` starts a comment) or a CSV whose header has a
//! `phone`, `number` or `phone_number` column. Entries are normalized like contacts, so
//! `(415) 555-0123` in the list suppresses `+14155550123` in the CSV.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use crate::phone::{Region, normalize};

/// The numbers of every suppression file, in E.164.
#[derive(Debug, Default)]
pub struct Suppression {
    numbers: HashSet<String>,
    /// Entries that are not phone numbers, as "file:line: text": they suppress nothing, which a
    /// user must hear about.
    pub unreadable: Vec<String>,
}

const PHONE_HEADERS: [&str; 4] = ["phone", "number", "phone_number", "phone number"];

impl Suppression {
    pub fn load(files: &[PathBuf], region: Option<Region>) -> io::Result<Suppression> {
        let mut out = Suppression::default();
        for file in files {
            out.load_file(file, region)?;
        }
        Ok(out)
    }

    pub fn contains(&self, e164: &str) -> bool {
        self.numbers.contains(e164)
    }

    pub fn len(&self) -> usize {
        self.numbers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.numbers.is_empty()
    }

    fn load_file(&mut self, path: &Path, region: Option<Region>) -> io::Result<()> {
        let mut lines = BufReader::new(File::open(path)?).lines();
        let Some(first) = lines.next().transpose()? else {
            return Ok(());
        };
        let first = first.trim_start_matches('\u{feff}');
        let header_column = first
            .contains(',')
            .then(|| {
                first.split(',').position(|h| {
                    PHONE_HEADERS
                        .contains(&h.trim().trim_matches('"').to_ascii_lowercase().as_str())
                })
            })
            .flatten();
        match header_column {
            Some(column) => {
                let mut reader = csv::ReaderBuilder::new().flexible(true).from_path(path)?;
                for record in reader.records() {
                    let record = record.map_err(io::Error::other)?;
                    let line = record.position().map_or(0, |p| p.line());
                    self.add(path, line, record.get(column).unwrap_or_default(), region);
                }
            }
            None => {
                self.add(path, 1, first, region);
                for (i, line) in lines.enumerate() {
                    self.add(path, i as u64 + 2, &line?, region);
                }
            }
        }
        Ok(())
    }

    fn add(&mut self, path: &Path, line: u64, text: &str, region: Option<Region>) {
        let text = text.split('#').next().unwrap_or_default().trim();
        if text.is_empty() {
            return;
        }
        match normalize(text, region) {
            Ok(number) => {
                self.numbers.insert(number);
            }
            Err(err) => self
                .unreadable
                .push(format!("{}:{line}: {text:?}: {err}", path.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lists_and_csvs_with_a_phone_column() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("dnc.txt");
        std::fs::write(
            &plain,
            "# do not call\n(415) 555-0123\n\n+44 20 7946 0958 # asked twice\nnot a number\n",
        )
        .unwrap();
        let csv = dir.path().join("dnc.csv");
        std::fs::write(&csv, "name,Phone\nAna,212-555-0100\n").unwrap();
        let s = Suppression::load(&[plain, csv], Some(Region::US)).unwrap();
        assert!(s.contains("+14155550123"));
        assert!(s.contains("+442079460958"));
        assert!(s.contains("+12125550100"));
        assert_eq!(s.len(), 3);
        assert_eq!(s.unreadable.len(), 1);
        assert!(
            s.unreadable[0].ends_with("dnc.txt:5: \"not a number\": not a valid phone number"),
            "{:?}",
            s.unreadable
        );
    }
}
