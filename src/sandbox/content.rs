//! The generated results of a call: summary, transcript and extracted values, made up
//! deterministically from the call's plan so the same seed gives the same words.
//!
//! The transcript is one string of speaker turns, `Agent: …` and `Contact: …` on their own
//! lines. Only answered calls have content; the others have none (`null` in the API).

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use serde_json::{Map, Value, json};

use super::outcome::{End, Outcome, Plan};
use super::request::{Field, FieldType, PlaceCall};

/// What a finished call reports beyond its timing.
#[derive(Debug, Clone, PartialEq)]
pub struct Content {
    pub summary: Option<String>,
    pub transcript: Option<String>,
    /// Every requested field, `null` when the call did not obtain it.
    pub extracted: Map<String, Value>,
}

/// How much of `text` to quote in generated speech.
fn clip(text: &str, max_chars: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", text[..cut].trim_end()),
        None => text.to_string(),
    }
}

fn string_value(field: &Field, rng: &mut Xoshiro256PlusPlus) -> String {
    let name = field.name.to_ascii_lowercase();
    let pick = |rng: &mut Xoshiro256PlusPlus, options: &[&str]| {
        options[rng.random_range(0..options.len())].to_string()
    };
    if name.contains("email") {
        pick(
            rng,
            &[
                "alex@example.com",
                "sam.lee@example.org",
                "front-desk@example.net",
            ],
        )
    } else if name.contains("date") || name.contains("day") {
        pick(
            rng,
            &[
                "2026-12-03",
                "next Tuesday",
                "2027-01-15",
                "Friday the 12th",
            ],
        )
    } else if name.contains("time") || name.contains("slot") {
        pick(rng, &["10:30", "after 3 pm", "9:00 tomorrow", "noon"])
    } else if name.contains("name") {
        pick(
            rng,
            &["Alex Rivera", "Sam Lee", "Jordan Blake", "Casey Morgan"],
        )
    } else if name.contains("reason") || name.contains("note") || name.contains("comment") {
        pick(
            rng,
            &[
                "prefers a call back next week",
                "already arranged it elsewhere",
                "wants details by email first",
            ],
        )
    } else {
        pick(
            rng,
            &[
                "yes, confirmed",
                "not sure yet",
                "the second option",
                "as discussed",
            ],
        )
    }
}

fn field_value(field: &Field, rng: &mut Xoshiro256PlusPlus) -> Value {
    // Roughly one requested field in six is not obtained, as in real conversations.
    if rng.random_range(0..6) == 0 {
        return Value::Null;
    }
    match field.kind {
        FieldType::Boolean => Value::Bool(rng.random_bool(0.6)),
        FieldType::Number => json!(rng.random_range(0..=10)),
        FieldType::String => Value::String(string_value(field, rng)),
    }
}

fn answer_line(value: &Value) -> String {
    match value {
        Value::Null => "Hmm, I'd rather not say right now.".to_string(),
        Value::Bool(true) => "Yes.".to_string(),
        Value::Bool(false) => "No, not really.".to_string(),
        Value::Number(n) => format!("I'd say {n}."),
        Value::String(s) => format!("Let me see... {s}."),
        other => other.to_string(),
    }
}

fn all_null(fields: &[Field]) -> Map<String, Value> {
    fields
        .iter()
        .map(|f| (f.name.clone(), Value::Null))
        .collect()
}

/// The content of a call with this plan, once it has ended.
pub fn generate(request: &PlaceCall, plan: &Plan) -> Content {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(plan.content_seed);
    let objective = clip(&request.objective, 160);
    match plan.end {
        End::Terminal(Outcome::Completed) => {
            let mut extracted = Map::new();
            let mut lines = vec![
                format!(
                    "Agent: Hello, this is an AI assistant calling on behalf of the team. {objective}"
                ),
                "Contact: Hi, yes, I have a minute. Go ahead.".to_string(),
            ];
            for field in &request.fields {
                let value = field_value(field, &mut rng);
                let topic = field.description.as_deref().unwrap_or(&field.name);
                lines.push(format!("Agent: Could you tell me: {}?", clip(topic, 80)));
                lines.push(format!("Contact: {}", answer_line(&value)));
                extracted.insert(field.name.clone(), value);
            }
            lines
                .push("Agent: Thank you, that's everything I needed. Have a good day.".to_string());
            lines.push("Contact: You too, bye.".to_string());
            let obtained = extracted.values().filter(|v| !v.is_null()).count();
            let summary = if request.fields.is_empty() {
                format!("Reached the contact and covered the objective: {objective}")
            } else {
                format!(
                    "Reached the contact and covered the objective: {objective} Obtained {obtained} of {} requested details.",
                    request.fields.len()
                )
            };
            Content {
                summary: Some(summary),
                transcript: Some(lines.join("\n")),
                extracted,
            }
        }
        End::Terminal(Outcome::Voicemail) => Content {
            summary: Some(
                "Reached voicemail and left a short message asking for a call back.".into(),
            ),
            transcript: Some(format!(
                "Agent: Hello, this is an AI assistant calling on behalf of the team. {objective} \
                 Please call us back at {}. Thank you.",
                request.caller_id
            )),
            extracted: all_null(&request.fields),
        },
        // Nobody spoke: nothing to summarise or transcribe.
        End::Terminal(Outcome::NoAnswer | Outcome::Declined | Outcome::Failed) | End::Never => {
            Content {
                summary: None,
                transcript: None,
                extracted: all_null(&request.fields),
            }
        }
    }
}

/// Makes a completed call's content one that obtained none of its fields (`--empty-rate`).
/// Other outcomes obtain nothing anyway and are left as they are.
pub fn obtain_nothing(content: &mut Content, plan: &Plan) {
    if plan.end != End::Terminal(Outcome::Completed) || content.extracted.is_empty() {
        return;
    }
    let n = content.extracted.len();
    content
        .extracted
        .values_mut()
        .for_each(|v| *v = Value::Null);
    content.summary = Some(format!(
        "Reached the contact, but obtained none of the {n} requested details."
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::outcome::{Distribution, draw};
    use crate::sandbox::request::validate;

    fn request(fields: &str) -> PlaceCall {
        let body = format!(
            r#"{{"to":"+14155550190","objective":"Confirm the delivery window.","fields":{fields}}}"#
        );
        validate(body.as_bytes(), &["+14155550100".to_string()]).unwrap()
    }

    #[test]
    fn completed_calls_extract_values_of_the_requested_types() {
        let req = request(
            r#"[{"name":"confirmed","type":"boolean"},{"name":"boxes","type":"number"},{"name":"slot"}]"#,
        );
        let mut nulls = 0;
        for nth in 0..60 {
            let plan = draw(1, &req.to, nth, &Distribution::default());
            let content = generate(&req, &plan);
            assert!(
                content
                    .summary
                    .unwrap()
                    .contains("Confirm the delivery window.")
            );
            let transcript = content.transcript.unwrap();
            assert!(transcript.starts_with("Agent: "));
            assert!(transcript.lines().any(|l| l.starts_with("Contact: ")));
            assert_eq!(content.extracted.len(), 3);
            for (name, value) in &content.extracted {
                match (name.as_str(), value) {
                    (_, Value::Null) => nulls += 1,
                    ("confirmed", Value::Bool(_))
                    | ("boxes", Value::Number(_))
                    | ("slot", Value::String(_)) => {}
                    other => panic!("wrong type: {other:?}"),
                }
            }
        }
        assert!(nulls > 0, "some fields should be missing");
    }

    #[test]
    fn unanswered_calls_have_no_words_but_every_field() {
        let mut req = request(r#"[{"name":"a"}]"#);
        req.to = "+14155550191".into();
        let plan = draw(1, &req.to, 0, &Distribution::default());
        let content = generate(&req, &plan);
        assert_eq!(content.summary, None);
        assert_eq!(content.transcript, None);
        assert_eq!(content.extracted.get("a"), Some(&Value::Null));
    }

    #[test]
    fn a_call_that_obtains_nothing_keeps_every_field_as_null() {
        let req = request(r#"[{"name":"confirmed","type":"boolean"},{"name":"slot"}]"#);
        let plan = draw(1, "+14155550190", 0, &Distribution::default());
        let mut content = generate(&req, &plan);
        obtain_nothing(&mut content, &plan);
        assert_eq!(content.extracted.len(), 2);
        assert!(content.extracted.values().all(Value::is_null));
        assert_eq!(
            content.summary.as_deref(),
            Some("Reached the contact, but obtained none of the 2 requested details.")
        );
        // A voicemail is left alone.
        let plan = draw(1, "+14155550192", 0, &Distribution::default());
        let before = generate(&req, &plan);
        let mut after = before.clone();
        obtain_nothing(&mut after, &plan);
        assert_eq!(after, before);
    }

    #[test]
    fn clipping_respects_characters() {
        assert_eq!(clip("héllo wörld", 5), "héllo…");
        assert_eq!(clip(" short ", 50), "short");
    }
}
