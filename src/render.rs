//! From a contact to the exact body of `POST /v1/agent/calls`.
//!
//! The objective and context are Tera templates whose variables are the CSV columns (all values
//! are strings). Templates are compiled once, when the campaign is loaded; rendering a row can
//! still fail (a filter given a bad value), which makes that row invalid, never the campaign.

use serde::Serialize;

use crate::campaign::{Campaign, FieldKind};
use crate::contacts::Contact;

/// Which template a variable or an error belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TemplateKind {
    Objective,
    Context,
}

impl TemplateKind {
    fn name(self) -> &'static str {
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
    pub fn compile(objective: &str, context: Option<&str>) -> Result<Templates, TemplateError> {
        let mut tera = tera::Tera::new();
        let mut add = |kind: TemplateKind, source: &str| {
            tera.add_raw_template(kind.name(), source)
                .map_err(|err| TemplateError {
                    kind,
                    message: err.to_string(),
                })
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

    fn render(&self, kind: TemplateKind, context: &tera::Context) -> Result<String, RenderError> {
        let text = self
            .tera
            .render(kind.name(), context)
            .map_err(|err| RenderError::Template {
                kind,
                message: first_line(&err.to_string()),
            })?;
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
}

/// The JSON body of `POST /v1/agent/calls` (see ../shared/bys-api.md).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRequest {
    pub to: String,
    pub objective: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voice: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The request a contact would be called with.
pub fn request(campaign: &Campaign, contact: &Contact) -> Result<CallRequest, RenderError> {
    let (objective, rendered_context) = texts(campaign, contact)?;
    Ok(CallRequest {
        to: contact.phone.clone(),
        objective,
        context: rendered_context,
        fields: campaign
            .fields
            .iter()
            .map(|f| FieldSpec {
                name: f.name.clone(),
                kind: FieldKind::as_str(f.kind),
                description: f.description.clone(),
            })
            .collect(),
        caller_id: campaign.call.caller_id.clone(),
        voice: campaign.call.voice.clone(),
        language: campaign.call.language.clone(),
        webhook_url: None,
    })
}

/// Whether the contact's request renders, without building it: what a scan of the CSV checks
/// for every row (see [`crate::contacts::Reader::for_each`]).
pub fn check(campaign: &Campaign, contact: &Contact) -> Result<(), RenderError> {
    texts(campaign, contact).map(drop)
}

/// The rendered objective and context.
fn texts(campaign: &Campaign, contact: &Contact) -> Result<(String, Option<String>), RenderError> {
    let templates = &campaign.call.templates;
    let mut context = tera::Context::new();
    for (column, value) in campaign.input.columns.iter().zip(&contact.values) {
        context.insert(column.clone(), value);
    }
    let objective = templates.render(TemplateKind::Objective, &context)?;
    let rendered_context = templates
        .has_context
        .then(|| templates.render(TemplateKind::Context, &context))
        .transpose()?
        .filter(|c| !c.is_empty());
    Ok((objective, rendered_context))
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
