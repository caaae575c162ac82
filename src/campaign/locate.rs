//! Where each key and value sits in the campaign file.
//!
//! serde_yaml says where a *parse* error is, but once the file is deserialized the positions are
//! gone. To point a *validation* error (a bad zone, a duplicate field name) at its line:column,
//! this module walks the YAML event stream once and records the position of every node by its
//! path, written the way errors quote it: `schedule.windows[0].from`.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser};

/// A 1-based line and column in the campaign file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    key: Option<Pos>,
    value: Pos,
}

/// Positions of every mapping key and value in a YAML document, by path.
#[derive(Debug, Default)]
pub struct SourceMap {
    entries: HashMap<String, Entry>,
}

enum Frame {
    Map {
        path: String,
        key: Option<(String, Pos)>,
    },
    Seq {
        path: String,
        next: usize,
    },
}

impl SourceMap {
    /// Indexes `source`. A document the YAML parser rejects yields an empty map: serde_yaml reports
    /// that error itself, with its position.
    pub fn new(source: &str) -> SourceMap {
        let mut map = SourceMap::default();
        let mut stack: Vec<Frame> = Vec::new();
        for item in Parser::new_from_str(source) {
            let Ok((event, span)) = item else { return map };
            let pos = Pos {
                line: span.start.line(),
                column: span.start.col() + 1,
            };
            let opens = match &event {
                Event::Scalar(..) | Event::Alias(_) => false,
                Event::MappingStart(..) | Event::SequenceStart(..) => true,
                Event::MappingEnd | Event::SequenceEnd => {
                    stack.pop();
                    continue;
                }
                _ => continue,
            };
            // A scalar in key position of a mapping is a key, not a node of its own.
            if let (
                Some(Frame::Map {
                    key: key @ None, ..
                }),
                Event::Scalar(text, ..),
            ) = (stack.last_mut(), &event)
            {
                *key = Some((text.to_string(), pos));
                continue;
            }
            let (path, key_pos) = match stack.last_mut() {
                None => (String::new(), None),
                Some(Frame::Map { path, key }) => match key.take() {
                    Some((name, key_pos)) => (join(path, &name), Some(key_pos)),
                    // A complex (non-scalar) key: not something a campaign file has.
                    None => (format!("{path}.?"), None),
                },
                Some(Frame::Seq { path, next }) => {
                    *next += 1;
                    (format!("{path}[{}]", *next - 1), None)
                }
            };
            map.entries.insert(
                path.clone(),
                Entry {
                    key: key_pos,
                    value: pos,
                },
            );
            if opens {
                stack.push(match event {
                    Event::MappingStart(..) => Frame::Map { path, key: None },
                    _ => Frame::Seq { path, next: 0 },
                });
            }
        }
        map
    }

    /// Where the value at `path` starts, if the file has it.
    pub fn value(&self, path: &str) -> Option<Pos> {
        self.entries.get(path).map(|e| e.value)
    }

    /// Where the key of `path` is (or its value, for sequence items and the document root).
    pub fn key(&self, path: &str) -> Option<Pos> {
        self.entries.get(path).map(|e| e.key.unwrap_or(e.value))
    }
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "\
name: demo
input:
  path: a.csv
fields:
  - { name: confirmed, type: boolean }
  - name: new_time
schedule:
  windows:
    - days: [mon, tue]
      from: \"09:00\"
";

    fn at(line: usize, column: usize) -> Option<Pos> {
        Some(Pos { line, column })
    }

    #[test]
    fn finds_keys_and_values_by_path() {
        let map = SourceMap::new(DOC);
        assert_eq!(map.key("name"), at(1, 1));
        assert_eq!(map.value("name"), at(1, 7));
        assert_eq!(map.key("input.path"), at(3, 3));
        assert_eq!(map.value("input.path"), at(3, 9));
        assert_eq!(map.value("fields[0].type"), at(5, 30));
        assert_eq!(map.key("fields[1].name"), at(6, 5));
        assert_eq!(map.value("schedule.windows[0].days[1]"), at(9, 19));
        assert_eq!(map.value("schedule.windows[0].from"), at(10, 13));
    }

    #[test]
    fn missing_paths_and_broken_documents_have_no_position() {
        assert_eq!(SourceMap::new(DOC).value("limits.burst"), None);
        assert_eq!(SourceMap::new("name: [\n").value("input"), None);
    }
}
