//! True line numbers for CSV records.
//!
//! The `csv` crate records a record's position *before* it skips the previous record's `\n`
//! (CRLF files) and any blank lines, so its line numbers can be early. [`LineIndex`] wraps the
//! input, notes where each line starts and whether it is blank as bytes stream past, and answers
//! "on which line does the record at byte B start". It keeps only the lines the CSV reader has
//! buffered ahead, so memory stays bounded on any file size.

use std::collections::VecDeque;
use std::io::{self, Read};

#[derive(Debug, Clone, Copy)]
struct LineStart {
    offset: u64,
    number: u64,
    blank: bool,
}

/// A reader that indexes line starts of the bytes read through it.
#[derive(Debug)]
pub struct LineIndex<R> {
    inner: R,
    offset: u64,
    next_line: u64,
    at_line_start: bool,
    lines: VecDeque<LineStart>,
}

impl<R> LineIndex<R> {
    pub fn new(inner: R) -> LineIndex<R> {
        LineIndex {
            inner,
            offset: 0,
            next_line: 1,
            at_line_start: true,
            lines: VecDeque::new(),
        }
    }

    /// The line on which a record whose parse began at byte `offset` starts: the first non-blank
    /// line starting at or after it. Forgets everything before it: records come in order.
    pub fn line_at(&mut self, offset: u64) -> u64 {
        while self
            .lines
            .front()
            .is_some_and(|l| l.offset < offset || l.blank)
        {
            // Never drop the last known line: a record may start on it.
            if self.lines.len() == 1 {
                break;
            }
            self.lines.pop_front();
        }
        self.lines.front().map_or(self.next_line, |l| l.number)
    }
}

impl<R: Read> Read for LineIndex<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &byte in &buf[..n] {
            if self.at_line_start {
                self.lines.push_back(LineStart {
                    offset: self.offset,
                    number: self.next_line,
                    blank: true,
                });
                self.at_line_start = false;
            }
            match byte {
                b'\n' => {
                    self.next_line += 1;
                    self.at_line_start = true;
                }
                b'\r' => {}
                _ => {
                    if let Some(last) = self.lines.back_mut() {
                        last.blank = false;
                    }
                }
            }
            self.offset += 1;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(data: &str) -> Vec<(String, u64)> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(LineIndex::new(data.as_bytes()));
        reader.byte_headers().unwrap();
        let mut out = Vec::new();
        let mut record = csv::ByteRecord::new();
        while reader.read_byte_record(&mut record).unwrap() {
            let offset = record.position().unwrap().byte();
            let line = reader.get_mut().line_at(offset);
            out.push((String::from_utf8_lossy(&record[0]).into_owned(), line));
        }
        out
    }

    fn expected(pairs: &[(&str, u64)]) -> Vec<(String, u64)> {
        pairs.iter().map(|&(s, l)| (s.to_owned(), l)).collect()
    }

    #[test]
    fn lf_with_blank_lines_and_embedded_newlines() {
        let data = "phone,name\n1,a\n\n2,\"x\ny\"\n3,c\n";
        assert_eq!(lines_of(data), expected(&[("1", 2), ("2", 4), ("3", 6)]));
    }

    #[test]
    fn crlf_with_blank_lines_and_embedded_newlines() {
        let data = "phone,name\r\n1,a\r\n\r\n2,\"x\r\ny\"\r\n3,c\r\n";
        assert_eq!(lines_of(data), expected(&[("1", 2), ("2", 4), ("3", 6)]));
    }

    #[test]
    fn bom_and_quoted_multiline_first_field() {
        let data = "\u{feff}phone,name\n\"4\n5\",a\n6,b";
        assert_eq!(lines_of(data), expected(&[("4\n5", 2), ("6", 4)]));
    }
}
