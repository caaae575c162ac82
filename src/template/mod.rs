//! The campaign's objective and context templates, compiled once when the campaign is loaded.
//!
//! The variables are the CSV columns (all values are strings). Rendering a row can still fail (a
//! filter given a bad value), which makes that row invalid, never the campaign. Every render is
//! bounded in output and work ([`budget`]): a template that would loop for hours is stopped
//! after a few milliseconds.

pub mod budget;

/// Which template a variable or an error belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TemplateKind {
    Objective,
    Context,
}

impl TemplateKind {
    pub fn name(self) -> &'static str {
        match self {
            TemplateKind::Objective => "objective",
            TemplateKind::Context => "context",
        }
    }
}

/// A template that does not compile, with Tera's report (which quotes the offending spot).
#[derive(Debug)]
pub struct TemplateError {
    pub kind: TemplateKind,
    pub message: String,
}

/// The campaign's compiled templates.
pub struct Templates {
    tera: tera::Tera,
    has_context: bool,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("has_context", &self.has_context)
            .finish_non_exhaustive()
    }
}

impl Templates {
    /// Compiles the templates, instrumented for the render budget (see [`budget`]). A syntax
    /// error is reported against the template as written.
    pub fn compile(objective: &str, context: Option<&str>) -> Result<Templates, TemplateError> {
        let mut tera = tera::Tera::new();
        budget::register(&mut tera);
        let mut add = |kind: TemplateKind, source: &str| {
            let failed = |message: String| TemplateError { kind, message };
            let instrumented = budget::instrument(source).map_err(|refused| {
                failed(format!(
                    "line {} of the template uses {}, which a campaign template cannot use \
                     (what it costs per row could not be bounded)",
                    refused.line, refused.what
                ))
            })?;
            // As written first, so that a syntax error quotes the user's own text.
            tera::Tera::new()
                .add_raw_template(kind.name(), source)
                .map_err(|err| failed(err.to_string()))?;
            tera.add_raw_template(kind.name(), &instrumented)
                .map_err(|err| failed(err.to_string()))
        };
        add(TemplateKind::Objective, objective)?;
        if let Some(context) = context {
            add(TemplateKind::Context, context)?;
        }
        Ok(Templates {
            tera,
            has_context: context.is_some(),
        })
    }

    /// Every top-level variable each template reads, sorted, objective first.
    pub fn variables(&self) -> Vec<(TemplateKind, &str)> {
        let mut out = Vec::new();
        for kind in self.kinds() {
            let mut vars: Vec<&str> = self
                .tera
                .get_template_variables(kind.name())
                .expect("template was added at compile time")
                .into_iter()
                .filter(|v| !v.starts_with("__bys_"))
                .collect();
            vars.sort_unstable();
            out.extend(vars.into_iter().map(|v| (kind, v)));
        }
        out
    }

    fn kinds(&self) -> impl Iterator<Item = TemplateKind> {
        std::iter::once(TemplateKind::Objective)
            .chain(self.has_context.then_some(TemplateKind::Context))
    }

    /// Renders one template within the budget (see [`budget`]).
    fn render(&self, kind: TemplateKind, context: &tera::Context) -> Result<String, RenderError> {
        budget::reset();
        let mut out = budget::Capped::default();
        let rendered = self.tera.render_to(kind.name(), context, &mut out);
        if let Some(limit) = budget::exceeded() {
            return Err(RenderError::OverBudget { kind, limit });
        }
        rendered.map_err(|err| RenderError::Template {
            kind,
            message: first_line(&err.to_string()),
        })?;
        let text = String::from_utf8_lossy(&out.0);
        // Block scalars (`objective: |`) end in a newline; surrounding blanks carry no meaning.
        let text = text.trim().to_owned();
        if kind == TemplateKind::Objective && text.is_empty() {
            return Err(RenderError::EmptyObjective);
        }
        Ok(text)
    }
}

fn first_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ")
        .to_owned()
}

/// Why one row's request could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("the {} template failed: {message}", kind.name())]
    Template { kind: TemplateKind, message: String },
    #[error("the objective renders to nothing")]
    EmptyObjective,
    /// The render went over its budget (see [`budget`]).
    #[error("the {} template goes over its render budget: {}", kind.name(), limit.describe())]
    OverBudget {
        kind: TemplateKind,
        limit: budget::Limit,
    },
}

impl Templates {
    /// The objective and (non-empty) context for a row with these cells under these columns.
    pub fn render_row(
        &self,
        columns: &[String],
        values: &[String],
    ) -> Result<(String, Option<String>), RenderError> {
        let mut context = tera::Context::new();
        for (column, value) in columns.iter().zip(values) {
            context.insert(column.clone(), value);
        }
        let objective = self.render(TemplateKind::Objective, &context)?;
        let rendered_context = self
            .has_context
            .then(|| self.render(TemplateKind::Context, &context))
            .transpose()?
            .filter(|c| !c.is_empty());
        Ok((objective, rendered_context))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_the_top_level_names_only() {
        let t = Templates::compile(
            "Hi {{ first_name | title }}{% for x in items %}{{ x }}{% endfor %}{% set y = 1 %}{{ y }}",
            Some("For {{ clinic }}"),
        )
        .unwrap();
        assert_eq!(
            t.variables(),
            vec![
                (TemplateKind::Objective, "first_name"),
                (TemplateKind::Objective, "items"),
                (TemplateKind::Context, "clinic"),
            ]
        );
    }

    #[test]
    fn syntax_errors_name_the_template() {
        let err = Templates::compile("ok", Some("Hello {{ name ")).unwrap_err();
        assert_eq!(err.kind, TemplateKind::Context);
        assert!(err.message.contains("context:1:"), "{}", err.message);
    }

    fn render_one(objective: &str, values: &[(&str, &str)]) -> Result<String, RenderError> {
        let t = Templates::compile(objective, None).unwrap();
        let columns: Vec<String> = values.iter().map(|(k, _)| (*k).to_owned()).collect();
        let cells: Vec<String> = values.iter().map(|(_, v)| (*v).to_owned()).collect();
        t.render_row(&columns, &cells)
            .map(|(objective, _)| objective)
    }

    fn over(objective: &str, values: &[(&str, &str)]) -> budget::Limit {
        let started = std::time::Instant::now();
        let err = render_one(objective, values).unwrap_err();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "{objective}: {:?}",
            started.elapsed()
        );
        match err {
            RenderError::OverBudget { limit, .. } => limit,
            other => panic!("{objective}: {other}"),
        }
    }

    #[test]
    fn template_bombs_stop_at_the_budget_in_milliseconds() {
        use budget::Limit;
        let big = "y".repeat(5000);
        for (objective, values, limit) in [
            (
                "{% for i in range(end=100000) %}{% for j in range(end=100000) %}x{% endfor %}{% endfor %}",
                vec![],
                Limit::Steps,
            ),
            (
                "{% for i in range(end=5000) %}{% for j in range(end=5000) %}{% endfor %}{% endfor %}",
                vec![],
                Limit::Steps,
            ),
            (
                "{% for i in range(end=9000) %}xxxxxxxxxxxxxxxxxxxxxx{% endfor %}",
                vec![],
                Limit::Output,
            ),
            (
                "{% for a in n|split(pat=\"\") %}{% for b in n|split(pat=\"\") %}{% endfor %}{% endfor %}",
                vec![(
                    "n",
                    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789",
                )],
                Limit::Steps,
            ),
            (
                "{% set_global s = n %}{% for i in range(end=40) %}{% set_global s = s ~ s %}{% endfor %}{{ s | length }}",
                vec![("n", "ab")],
                Limit::Value,
            ),
            (
                "{{ n | replace(from=\"\", to=n) | replace(from=\"\", to=n) | length }}",
                vec![("n", big.as_str())],
                Limit::Value,
            ),
        ] {
            assert_eq!(over(objective, &values), limit, "{objective}");
        }
    }

    #[test]
    fn instrumented_templates_render_as_written() {
        let objective = "Hi {{ name }}.\n{%- for x in items|split(pat=\",\") -%}\n  [{{ loop.index }}:{{ x }}]\n{%- endfor %}\n{% set n = name | upper %}{{ n }} {{ name | replace(from=\"a\", to=\"4\") }} {{ items | split(pat=\",\") | join(sep=\"+\") }}";
        let values = [("name", "Ana"), ("items", "a,b")];
        let plain = {
            let mut tera = tera::Tera::new();
            tera.add_raw_template("objective", objective).unwrap();
            let mut c = tera::Context::new();
            for (k, v) in values {
                c.insert(k, v);
            }
            tera.render("objective", &c).unwrap().trim().to_owned()
        };
        assert_eq!(render_one(objective, &values).unwrap(), plain);
        assert_eq!(plain, "Hi Ana.[1:a][2:b]\nANA An4 a+b");
    }

    #[test]
    fn a_syntax_error_quotes_the_template_as_written() {
        let err = Templates::compile("{% for x in xs %}{{ x }", None).unwrap_err();
        assert!(!err.message.contains("__bys"), "{}", err.message);
        let err = Templates::compile("a\n{% include \"b\" %}", None).unwrap_err();
        assert!(
            err.message
                .starts_with("line 2 of the template uses `{% include %}`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn rendering_does_not_html_escape() {
        let t = Templates::compile("{{ a }}", None).unwrap();
        let mut c = tera::Context::new();
        c.insert("a", "Smith & Sons <Dr>");
        assert_eq!(
            t.render(TemplateKind::Objective, &c).unwrap(),
            "Smith & Sons <Dr>"
        );
    }
}
