//! The render budget: what one row's render may cost, whatever the template says.
//!
//! A template runs once per row, on tens of thousands of rows, inside `validate`, `plan` and the
//! runner; a loop inside a loop (`range(end=100000)` twice) would otherwise run for hours and
//! take gigabytes before the first call. So every render is bounded:
//! - **output**: each rendered text is written into a [`Capped`] writer that refuses to grow
//!   past [`MAX_OUTPUT`] bytes, so a template printing without end stops at that size;
//! - **work**: a step counter per render, at most [`MAX_STEPS`]. Each turn of a `{% for %}`
//!   loop is a step (the template is instrumented: a call to [`STEP`] is put at the start of
//!   every loop body, see [`instrument`]), and so is every element `range` and `split` make;
//! - **values**: a variable set with `set`/`set_global` may hold at most [`MAX_VALUE`] bytes
//!   (checked after each `set`: doubling a string in a loop stops there), and `replace`,
//!   `join` and `indent` refuse results larger than that before making them;
//! - **features**: what cannot be bounded this way is refused when the template is compiled:
//!   `include`, `extends`, `block`, `filter` sections, `component`s, `{% set %}…{% endset %}`
//!   blocks and list comprehensions (`[x for x in xs]`). Campaign objectives need none of them.
//!
//! The counters live in thread-locals, reset before each render: a render runs on one thread
//! from start to end (the scan renders on several threads, one row at a time each).

use std::cell::Cell;
use std::io;

use tera::{Kwargs, State, TeraResult, Value};

use crate::text::thousands;

/// Bytes a rendered objective or context may have: a few KB is several minutes of speech.
pub const MAX_OUTPUT: usize = 8 * 1024;
/// Loop turns (and elements made by `range` and `split`) one render may take.
pub const MAX_STEPS: u32 = 10_000;
/// Bytes a value made inside a template (a `set`, a `replace`) may hold.
pub const MAX_VALUE: usize = 64 * 1024;

/// The function instrumented loops call once per turn.
pub const STEP: &str = "__bys_step";
/// The function instrumented `set`s call with the value they set.
pub const SIZE: &str = "__bys_size";

/// Which limit a render went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Output,
    Steps,
    Value,
}

impl Limit {
    /// What was exceeded, with the limit, in the user's words.
    pub fn describe(self) -> String {
        match self {
            Limit::Output => format!("it would be longer than {MAX_OUTPUT} bytes"),
            Limit::Steps => format!(
                "it takes more than {} loop steps for one row (a loop inside a loop multiplies \
                 them; each element `range` or `split` makes counts too)",
                thousands(MAX_STEPS.into())
            ),
            Limit::Value => format!(
                "it builds a value of more than {} bytes",
                thousands(MAX_VALUE as u64)
            ),
        }
    }
}

thread_local! {
    static STEPS: Cell<u32> = const { Cell::new(0) };
    static OVER: Cell<Option<Limit>> = const { Cell::new(None) };
}

/// Starts the budget of one render on this thread.
pub fn reset() {
    STEPS.set(0);
    OVER.set(None);
}

/// The limit the last render on this thread went over, if it did.
pub fn exceeded() -> Option<Limit> {
    OVER.get()
}

fn over(limit: Limit) -> tera::Error {
    OVER.set(Some(limit));
    tera::Error::message(format!("render budget: {}", limit.describe()))
}

/// Counts `n` steps against the budget.
fn take(n: usize) -> TeraResult<()> {
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    let used = STEPS.get().saturating_add(n);
    STEPS.set(used);
    if used > MAX_STEPS {
        return Err(over(Limit::Steps));
    }
    Ok(())
}

/// Registers the budget's functions and the bounded versions of the built-ins that can make
/// large values.
pub fn register(tera: &mut tera::Tera) {
    tera.register_function(STEP, |_: Kwargs, _: &State| -> TeraResult<Value> {
        take(1)?;
        Ok(Value::from(""))
    });
    tera.register_function(SIZE, |kwargs: Kwargs, _: &State| -> TeraResult<Value> {
        let value = kwargs.must_get::<Value>("value")?;
        if size_over(&value, MAX_VALUE) {
            return Err(over(Limit::Value));
        }
        Ok(Value::from(""))
    });
    tera.register_function("range", range);
    tera.register_filter("split", split);
    tera.register_filter("replace", replace);
    tera.register_filter("join", join);
    tera.register_filter("indent", indent);
}

/// Whether `value` takes more than `max` bytes as text (stops counting once it does).
fn size_over(value: &Value, max: usize) -> bool {
    fn walk(value: &Value, left: &mut usize) -> bool {
        let this = if let Some(s) = value.as_str() {
            s.len()
        } else if let Some(items) = value.as_array() {
            for item in items {
                if walk(item, left) {
                    return true;
                }
            }
            items.len()
        } else if let Some(map) = value.as_map() {
            for (_, item) in map.iter() {
                if walk(item, left) {
                    return true;
                }
            }
            map.len()
        } else {
            8
        };
        match left.checked_sub(this) {
            Some(rest) => {
                *left = rest;
                false
            }
            None => true,
        }
    }
    let mut left = max;
    walk(value, &mut left)
}

/// `range(end=N, start=0, step_by=1)`, each element a step.
#[allow(clippy::needless_pass_by_value)] // Tera passes `Kwargs` by value.
fn range(kwargs: Kwargs, _: &State) -> TeraResult<Value> {
    let start = kwargs.get::<i128>("start")?.unwrap_or_default();
    let end = kwargs.must_get::<i128>("end")?;
    let step = kwargs.get::<i128>("step_by")?.unwrap_or(1);
    if step == 0 {
        return Err(tera::Error::message(
            "Function `range` was called with a `step_by` argument of 0",
        ));
    }
    let span = if step > 0 {
        end.saturating_sub(start)
    } else {
        start.saturating_sub(end)
    };
    let len = if span <= 0 {
        0
    } else {
        (span.saturating_add(step.abs() - 1)) / step.abs()
    };
    take(usize::try_from(len).unwrap_or(usize::MAX))?;
    let values: Vec<Value> = (0..len).map(|i| Value::from(start + i * step)).collect();
    Ok(Value::from(values))
}

/// `split(pat=…)`, each piece a step.
#[allow(clippy::needless_pass_by_value)] // Tera passes `Kwargs` by value.
fn split(val: &str, kwargs: Kwargs, _: &State) -> TeraResult<Value> {
    let pat = kwargs.must_get::<&str>("pat")?;
    let pieces = if pat.is_empty() {
        val.chars().count() + 2
    } else {
        val.matches(pat).count() + 1
    };
    take(pieces)?;
    Ok(val
        .split(pat)
        .map(Value::from)
        .collect::<Vec<Value>>()
        .into())
}

/// `replace(from=…, to=…)`, refused before it makes a value over [`MAX_VALUE`].
#[allow(clippy::needless_pass_by_value)] // Tera passes `Kwargs` by value.
fn replace(val: &str, kwargs: Kwargs, _: &State) -> TeraResult<Value> {
    let from = kwargs.must_get::<&str>("from")?;
    let to = kwargs.must_get::<&str>("to")?;
    let hits = if from.is_empty() {
        val.chars().count() + 1
    } else {
        val.matches(from).count()
    };
    let size = val
        .len()
        .saturating_add(hits.saturating_mul(to.len()))
        .saturating_sub(hits.saturating_mul(from.len()));
    if size > MAX_VALUE {
        return Err(over(Limit::Value));
    }
    Ok(Value::from(val.replace(from, to)))
}

/// `join(sep=…)`, refused once the result passes [`MAX_VALUE`].
#[allow(clippy::needless_pass_by_value)] // Tera passes `Kwargs` by value.
fn join(val: Vec<Value>, kwargs: Kwargs, _: &State) -> TeraResult<Value> {
    let sep = kwargs.get::<&str>("sep")?.unwrap_or("");
    let mut out = String::new();
    for (i, item) in val.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        if !item.is_undefined() {
            out.push_str(&item.to_string());
        }
        if out.len() > MAX_VALUE {
            return Err(over(Limit::Value));
        }
    }
    Ok(Value::from(out))
}

/// `indent(width=4, indentation=" ", first=false, blank=false)`, refused before it makes a
/// value over [`MAX_VALUE`].
#[allow(clippy::needless_pass_by_value)] // Tera passes `Kwargs` by value.
fn indent(val: &str, kwargs: Kwargs, _: &State) -> TeraResult<Value> {
    let width = kwargs.get::<usize>("width")?.unwrap_or(4).min(1000);
    let indentation = kwargs.get::<&str>("indentation")?;
    let first = kwargs.get::<bool>("first")?.unwrap_or(false);
    let blank = kwargs.get::<bool>("blank")?.unwrap_or(false);
    if indentation.is_some_and(|i| i.chars().count() != 1) {
        return Err(tera::Error::message(
            "The `indentation` argument must contain exactly one character",
        ));
    }
    let prefix = indentation.unwrap_or(" ").repeat(width);
    let lines = val.split('\n').count();
    if val.len().saturating_add(lines.saturating_mul(prefix.len())) > MAX_VALUE {
        return Err(over(Limit::Value));
    }
    let mut out = String::with_capacity(val.len() + lines * prefix.len());
    for (i, line) in val.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if (i > 0 || first) && (blank || !line.trim().is_empty()) {
            out.push_str(&prefix);
        }
        out.push_str(line);
    }
    Ok(Value::from(out))
}

/// A writer that takes at most [`MAX_OUTPUT`] bytes, then fails (and says so in
/// [`exceeded`]): the render stops at its next write.
#[derive(Debug, Default)]
pub struct Capped(pub Vec<u8>);

impl io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.0.len() + buf.len() > MAX_OUTPUT {
            OVER.set(Some(Limit::Output));
            return Err(io::Error::other(Limit::Output.describe()));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A template feature the budget cannot bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// 1-based line of the template.
    pub line: usize,
    pub what: String,
}

/// The template with a step call at the start of every loop body and a size check after every
/// `set`, or the first feature it uses that cannot be bounded. The output of the instrumented
/// template is the same as the original's: the calls print nothing, and whitespace control
/// (`-%}`) moves onto them. Line numbers are unchanged (nothing is inserted but on the line of
/// the tag it follows).
pub fn instrument(source: &str) -> Result<String, Refused> {
    let mut out = String::with_capacity(source.len() + 64);
    let mut rest = source;
    let line_of = |rest: &str| source[..source.len() - rest.len()].matches('\n').count() + 1;
    while let Some(open) = rest.find('{') {
        let (text, tail) = rest.split_at(open);
        out.push_str(text);
        rest = tail;
        let kind = rest.get(..2).unwrap_or_default();
        match kind {
            "{#" => {
                let end = rest.find("#}").map_or(rest.len(), |i| i + 2);
                out.push_str(&rest[..end]);
                rest = &rest[end..];
            }
            "{{" => {
                let end = code_end(&rest[2..], "}}").map_or(rest.len(), |i| i + 2);
                let code = &rest[2..end.saturating_sub(2).max(2)];
                if has_comprehension(code) {
                    return Err(refused_comprehension(line_of(rest)));
                }
                out.push_str(&rest[..end]);
                rest = &rest[end..];
            }
            "{%" => {
                let line = line_of(rest);
                let end = code_end(&rest[2..], "%}").map_or(rest.len(), |i| i + 2);
                let tag = &rest[..end];
                rest = &rest[end..];
                let inner = tag
                    .strip_prefix("{%")
                    .and_then(|t| t.strip_suffix("%}"))
                    .unwrap_or(tag);
                let trim_right = inner.ends_with('-');
                let body = inner.trim_start_matches('-').trim_end_matches('-').trim();
                let keyword = body
                    .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .next()
                    .unwrap_or_default();
                match keyword {
                    "raw" => {
                        // Everything up to `{% endraw %}` is text.
                        let end = find_endraw(rest).unwrap_or(rest.len());
                        out.push_str(tag);
                        out.push_str(&rest[..end]);
                        rest = &rest[end..];
                    }
                    "for" => {
                        if has_comprehension(&body[3..]) {
                            return Err(refused_comprehension(line));
                        }
                        push_tag(&mut out, tag, trim_right);
                        out.push_str(&format!("{{{{ {STEP}() {}}}}}", dash(trim_right)));
                    }
                    "set" | "set_global" => {
                        let target = body[keyword.len()..].trim_start();
                        let name: String = target
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        let assigns = target[name.len()..].trim_start().starts_with('=');
                        if !assigns {
                            return Err(Refused {
                                line,
                                what: "`{% set … %}…{% endset %}` blocks: write \
                                       `{% set name = … %}` instead"
                                    .into(),
                            });
                        }
                        if has_comprehension(target) {
                            return Err(refused_comprehension(line));
                        }
                        push_tag(&mut out, tag, trim_right);
                        out.push_str(&format!(
                            "{{{{ {SIZE}(value={name}) {}}}}}",
                            dash(trim_right)
                        ));
                    }
                    "include" | "extends" | "block" | "endblock" | "filter" | "endfilter"
                    | "component" | "endcomponent" | "macro" | "import" | "endset" => {
                        return Err(Refused {
                            line,
                            what: format!("`{{% {keyword} %}}`"),
                        });
                    }
                    _ => {
                        if has_comprehension(body) {
                            return Err(refused_comprehension(line));
                        }
                        out.push_str(tag);
                    }
                }
            }
            _ => {
                out.push('{');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn refused_comprehension(line: usize) -> Refused {
    Refused {
        line,
        what: "list comprehensions (`[x for x in …]`): use a `{% for %}` loop".into(),
    }
}

fn dash(trim: bool) -> &'static str {
    if trim { "-" } else { "" }
}

/// Writes `tag` without its right whitespace control (the inserted call carries it instead).
fn push_tag(out: &mut String, tag: &str, trim_right: bool) {
    if trim_right {
        let without = tag.strip_suffix("-%}").unwrap_or(tag);
        out.push_str(without);
        out.push_str("%}");
    } else {
        out.push_str(tag);
    }
}

/// Where the code that starts at `code` ends: the byte after `close`, skipping strings.
fn code_end(code: &str, close: &str) -> Option<usize> {
    let bytes = code.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == b'\\' && q != b'`' => i += 1,
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if matches!(b, b'"' | b'\'' | b'`') => quote = Some(b),
            None if code[i..].starts_with(close) => return Some(i + close.len()),
            None => {}
        }
        i += 1;
    }
    None
}

/// The offset of the `{% endraw %}` tag (with or without `-`) in `rest`.
fn find_endraw(rest: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = rest[from..].find("{%") {
        let at = from + i;
        let inner = rest[at + 2..].trim_start_matches('-').trim_start();
        if inner.starts_with("endraw") {
            return Some(at);
        }
        from = at + 2;
    }
    None
}

/// Whether the expression code uses `for` as a word outside strings: a list comprehension.
/// (`for` tags are checked after their own keyword.)
fn has_comprehension(code: &str) -> bool {
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in code.chars().chain(std::iter::once(' ')) {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' && q != '`' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        if word == "for" {
            return true;
        }
        word.clear();
        if matches!(c, '"' | '\'' | '`') {
            quote = Some(c);
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loops_get_a_step_and_sets_a_size_check_with_whitespace_control_kept() {
        let source = "A {% for x in xs %}{{ x }}{% endfor %}\n{%- for y in ys -%}\n y {% endfor %}{% set n = 1 %}{% set_global m = n ~ \"{% for\" -%}";
        let out = instrument(source).unwrap();
        assert_eq!(
            out,
            "A {% for x in xs %}{{ __bys_step() }}{{ x }}{% endfor %}\n{%- for y in ys %}{{ __bys_step() -}}\n y {% endfor %}{% set n = 1 %}{{ __bys_size(value=n) }}{% set_global m = n ~ \"{% for\" %}{{ __bys_size(value=m) -}}"
        );
        assert_eq!(out.lines().count(), source.lines().count());
    }

    #[test]
    fn raw_blocks_comments_and_strings_are_left_alone() {
        let source = "{# {% for %} #}{% raw %}{% for x in y %}{% endraw %}{{ \"}} for\" }}";
        assert_eq!(instrument(source).unwrap(), source);
    }

    #[test]
    fn what_cannot_be_bounded_is_refused_with_its_line() {
        for (source, line, what) in [
            ("a\n{% include \"x\" %}", 2, "`{% include %}`"),
            ("{% filter upper %}a{% endfilter %}", 1, "`{% filter %}`"),
            (
                "\n\n{% set x %}a{% endset %}",
                3,
                "`{% set … %}…{% endset %}` blocks",
            ),
            ("{{ [x for x in xs] }}", 1, "list comprehensions"),
            (
                "{% for a in [x for x in xs] %}{% endfor %}",
                1,
                "list comprehensions",
            ),
            (
                "{% if [x for x in xs] %}{% endif %}",
                1,
                "list comprehensions",
            ),
        ] {
            let refused = instrument(source).unwrap_err();
            assert_eq!(refused.line, line, "{source}");
            assert!(refused.what.starts_with(what), "{source}: {}", refused.what);
        }
        // A word that only contains `for` is fine.
        assert!(instrument("{{ format_for }} {{ \"for\" }} {% if before %}{% endif %}").is_ok());
    }

    #[test]
    fn values_are_measured_without_walking_past_the_limit() {
        assert!(!size_over(&Value::from("abc"), 3));
        assert!(size_over(&Value::from("abcd"), 3));
        let list = Value::from(vec![Value::from("ab"), Value::from("cd")]);
        assert!(size_over(&list, 4));
        assert!(!size_over(&list, 6));
    }
}
