//! From a contact to the exact body of `POST /v1/agent/calls`: the campaign's templates
//! ([`crate::template`]) rendered with the row's cells, and the campaign's settings.

use serde::Serialize;

use crate::campaign::{Campaign, FieldKind};
use crate::contacts::Contact;
use crate::template::RenderError;

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

/// The request a contact would be called with: its number `to` (E.164) and its row's `values`,
/// in header order, are all it takes.
pub fn request(
    campaign: &Campaign,
    to: &str,
    values: &[String],
) -> Result<CallRequest, RenderError> {
    let (objective, rendered_context) = texts(campaign, values)?;
    Ok(CallRequest {
        to: to.to_owned(),
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
pub fn check(campaign: &Campaign, contact: &Contact) -> Result<(), crate::contacts::RowProblem> {
    texts(campaign, &contact.values)
        .map(drop)
        .map_err(crate::contacts::RowProblem::Render)
}

/// The rendered objective and context.
fn texts(campaign: &Campaign, values: &[String]) -> Result<(String, Option<String>), RenderError> {
    campaign
        .call
        .templates
        .render_row(&campaign.input.columns, values)
}
