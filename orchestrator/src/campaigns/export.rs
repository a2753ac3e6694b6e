//! A campaign's results for sales teams: one row per lead with its outcome, the flow's result
//! (qualification, opt-out, callback) and the last call's transcript, as CSV (spreadsheets) or
//! JSON (systems).

use serde_json::{Value, json};

use super::Campaign;
use crate::calls::{Speaker, TurnRecord};
use crate::storage::leads::Lead;
use crate::storage::{StorageError, Store};

/// Leads read per page.
const PAGE: i64 = 500;

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Json,
}

const COLUMNS: &[&str] = &[
    "line",
    "phone",
    "name",
    "status",
    "attempts",
    "last_outcome",
    "skip_reason",
    "next_attempt_at",
    "qualification_status",
    "qualification",
    "opted_out",
    "callback_requested",
    "fields",
    "last_call_id",
    "transcript",
];

fn transcript_text(turns: &[TurnRecord]) -> String {
    turns
        .iter()
        .map(|t| {
            format!(
                "{}: {}",
                if t.speaker == Speaker::Bot {
                    "Vaarta"
                } else {
                    "Caller"
                },
                t.text
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn row(store: &Store, lead: &Lead) -> Result<(Value, Vec<TurnRecord>), StorageError> {
    let turns = match lead.last_call_id {
        Some(id) => store.calls().turns(id).await?,
        None => Vec::new(),
    };
    let result = lead.result.clone().unwrap_or(Value::Null);
    let v = json!({
        "line": lead.line,
        "phone": lead.phone,
        "name": lead.name,
        "status": lead.status,
        "attempts": lead.attempts,
        "last_outcome": lead.last_outcome,
        "skip_reason": lead.skip_reason,
        "next_attempt_at": lead.next_attempt_at,
        "qualification_status": result["qualification"]["status"],
        "qualification": result["qualification"],
        "opted_out": result["opted_out"].as_bool().unwrap_or(false),
        "callback_requested": result["callback_requested"].as_bool().unwrap_or(false),
        "fields": lead.fields,
        "last_call_id": lead.last_call_id,
    });
    Ok((v, turns))
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Object(m) if m.is_empty() => String::new(),
        other => other.to_string(),
    }
}

/// The whole export in memory (campaigns are at most 100 000 leads per upload; pages keep the
/// database reads bounded).
pub async fn export(
    store: &Store,
    campaign: &Campaign,
    format: ExportFormat,
) -> Result<Vec<u8>, StorageError> {
    let mut after = None;
    let mut csv = csv::Writer::from_writer(Vec::new());
    let mut json_rows = Vec::new();
    if format == ExportFormat::Csv {
        csv.write_record(COLUMNS)
            .map_err(|e| StorageError::Corrupt(e.to_string()))?;
    }
    loop {
        let page = store.leads().list(campaign.id, None, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for lead in &page {
            let (mut v, turns) = row(store, lead).await?;
            match format {
                ExportFormat::Csv => {
                    v["transcript"] = Value::String(transcript_text(&turns));
                    let record: Vec<String> = COLUMNS.iter().map(|c| cell(&v[*c])).collect();
                    csv.write_record(&record)
                        .map_err(|e| StorageError::Corrupt(e.to_string()))?;
                }
                ExportFormat::Json => {
                    v["transcript"] = serde_json::to_value(&turns).unwrap_or_default();
                    json_rows.push(v);
                }
            }
        }
        if (page.len() as i64) < PAGE {
            break;
        }
    }
    match format {
        ExportFormat::Csv => csv
            .into_inner()
            .map_err(|e| StorageError::Corrupt(e.to_string())),
        ExportFormat::Json => {
            let body = json!({"campaign": campaign, "leads": json_rows});
            serde_json::to_vec(&body).map_err(|e| StorageError::Corrupt(e.to_string()))
        }
    }
}
