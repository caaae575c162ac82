//! Why a campaign cannot be loaded, worded so the user can fix it.

use std::fmt;
use std::io;
use std::path::PathBuf;

use super::locate::Pos;

/// One thing wrong with a campaign file, at a place in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub pos: Option<Pos>,
    pub message: String,
    pub hint: Option<String>,
    /// The same problem again, word for word, this many more times (see [`Problem::merge`]).
    pub again: u64,
    /// Where the last of those is.
    pub last: Option<Pos>,
}

impl Problem {
    pub fn new(pos: Option<Pos>, message: impl Into<String>) -> Problem {
        Problem {
            pos,
            message: message.into(),
            hint: None,
            again: 0,
            last: None,
        }
    }

    /// Folds problems that say the same thing into the first of them, in order, so that a file
    /// repeating one mistake 200,000 times gets one line with the count, not 200,000 lines.
    pub fn merge(problems: Vec<Problem>) -> Vec<Problem> {
        let mut seen: std::collections::HashMap<(String, Option<String>), usize> =
            std::collections::HashMap::new();
        let mut merged: Vec<Problem> = Vec::new();
        for problem in problems {
            let key = (problem.message.clone(), problem.hint.clone());
            match seen.get(&key) {
                Some(&i) => {
                    merged[i].again += 1;
                    merged[i].last = problem.pos.or(merged[i].last);
                }
                None => {
                    seen.insert(key, merged.len());
                    merged.push(problem);
                }
            }
        }
        merged
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Problem {
        self.hint = Some(hint.into());
        self
    }
}

/// A campaign that cannot be loaded. The exit code depends on the variant: a missing file is
/// `EX_NOINPUT` (66), anything wrong inside the campaign is `EX_CONFIG` (78).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A file the campaign needs (the campaign itself, its contacts CSV, a suppression file)
    /// does not exist or cannot be read.
    #[error("cannot read the {what} {}{}: {source}", path.display(), named_at(named_by.as_ref()))]
    Missing {
        what: &'static str,
        path: PathBuf,
        /// Where the campaign file names it, when it does.
        named_by: Option<(PathBuf, Pos)>,
        source: io::Error,
    },
    /// The campaign file, a template or the CSV header does not make a runnable campaign.
    #[error("{}", Problems { file, problems })]
    Invalid {
        file: PathBuf,
        problems: Vec<Problem>,
    },
}

fn named_at(named_by: Option<&(PathBuf, Pos)>) -> String {
    match named_by {
        Some((file, pos)) => {
            format!(" (named at {}:{}:{})", file.display(), pos.line, pos.column)
        }
        None => String::new(),
    }
}

struct Problems<'a> {
    file: &'a PathBuf,
    problems: &'a [Problem],
}

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        let pad = if self.problems.len() == 1 { "" } else { "  " };
        if !pad.is_empty() {
            write!(f, "{file} has {} problems:", self.problems.len())?;
        }
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 || !pad.is_empty() {
                writeln!(f)?;
            }
            match p.pos {
                Some(pos) => write!(f, "{pad}{file}:{}:{}: {}", pos.line, pos.column, p.message)?,
                None => write!(f, "{pad}{file}: {}", p.message)?,
            }
            if p.again > 0 {
                let times = if p.again == 1 { "time" } else { "times" };
                write!(f, " (and {} more {times}", crate::text::thousands(p.again))?;
                if let Some(last) = p.last {
                    write!(f, ", the last on line {}", last.line)?;
                }
                write!(f, ")")?;
            }
            if let Some(hint) = &p.hint {
                write!(f, "\n{pad}  hint: {hint}")?;
            }
        }
        Ok(())
    }
}
