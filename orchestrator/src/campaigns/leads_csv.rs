//! Lead lists from CSV: finds the phone and name columns (or takes an explicit mapping),
//! normalises numbers to E.164 (default country India), drops duplicates within the file, and
//! reports every row it could not use with its line number. Other columns become the lead's
//! fields, which the campaign's flow reads with `get(name)`.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::calls::outbound::dial_target;

/// Most rows one upload may carry.
pub const MAX_ROWS: usize = 100_000;
/// Longest field value kept.
const MAX_FIELD: usize = 1000;

/// Header names recognised without a mapping (compared lower-case, `_`/space/`-` ignored).
const PHONE_NAMES: &[&str] = &[
    "phone",
    "mobile",
    "number",
    "phonenumber",
    "mobilenumber",
    "mobileno",
    "phoneno",
    "contact",
    "msisdn",
];
const NAME_NAMES: &[&str] = &["name", "fullname", "customer", "customername", "leadname"];

/// Which CSV columns hold the phone number and the name (header text, as in the file).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ColumnMapping {
    pub phone: Option<String>,
    pub name: Option<String>,
}

/// One usable row.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedLead {
    /// 1-based line of the file (the header is line 1).
    pub line: u64,
    /// E.164.
    pub phone: String,
    pub name: Option<String>,
    /// The other columns, by header (snake_case), as strings.
    pub fields: Map<String, Value>,
}

/// A row that was not used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RowError {
    pub line: u64,
    pub error: String,
}

/// What a file held.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedLeads {
    pub leads: Vec<ParsedLead>,
    pub rejected: Vec<RowError>,
    /// Rows whose number appeared earlier in the same file.
    pub duplicates_in_file: usize,
    pub rows: usize,
}

/// Why a file could not be read at all.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LeadsCsvError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is not UTF-8 CSV: {0}")]
    NotCsv(String),
    #[error("no phone column: name it with mapping.phone (headers: {0})")]
    NoPhoneColumn(String),
    #[error("mapping.{field}: no column {column:?} (headers: {headers})")]
    UnknownColumn {
        field: &'static str,
        column: String,
        headers: String,
    },
    #[error("more than {MAX_ROWS} rows; split the file")]
    TooManyRows,
}

fn squash(h: &str) -> String {
    h.chars()
        .filter(|c| c.is_alphanumeric())
        .collect::<String>()
        .to_lowercase()
}

/// A header as a flow variable name: lower-case, `_` between words.
fn field_name(h: &str) -> String {
    let mut out = String::new();
    for c in h.trim().chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_string()
}

fn find(
    headers: &[String],
    field: &'static str,
    explicit: Option<&str>,
    known: &[&str],
) -> Result<Option<usize>, LeadsCsvError> {
    match explicit {
        Some(col) => headers
            .iter()
            .position(|h| h.trim() == col.trim() || squash(h) == squash(col))
            .map(Some)
            .ok_or_else(|| LeadsCsvError::UnknownColumn {
                field,
                column: col.to_string(),
                headers: headers.join(", "),
            }),
        None => Ok(headers
            .iter()
            .position(|h| known.contains(&squash(h).as_str()))),
    }
}

/// The separator the header line uses most: `,` (default), `;` (spreadsheets in many locales)
/// or a tab.
fn delimiter(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or("");
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| (header.bytes().filter(|b| b == d).count(), *d == b','))
        .unwrap_or(b',')
}

/// Parses a lead list.
pub fn parse(bytes: &[u8], mapping: &ColumnMapping) -> Result<ParsedLeads, LeadsCsvError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes); // Excel's BOM
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(LeadsCsvError::Empty);
    }
    let text = std::str::from_utf8(bytes).map_err(|e| LeadsCsvError::NotCsv(e.to_string()))?;
    if text.contains('\0') {
        return Err(LeadsCsvError::NotCsv("it contains NUL bytes".into()));
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter(text))
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| LeadsCsvError::NotCsv(e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect();
    let phone_col = find(&headers, "phone", mapping.phone.as_deref(), PHONE_NAMES)?
        .ok_or_else(|| LeadsCsvError::NoPhoneColumn(headers.join(", ")))?;
    let name_col = find(&headers, "name", mapping.name.as_deref(), NAME_NAMES)?;
    let field_names: BTreeMap<usize, String> = headers
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != phone_col && Some(*i) != name_col)
        .map(|(i, h)| (i, field_name(h)))
        .filter(|(_, n)| !n.is_empty())
        .collect();
    let mut out = ParsedLeads::default();
    let mut seen = HashSet::new();
    for record in reader.records() {
        out.rows += 1;
        if out.rows > MAX_ROWS {
            return Err(LeadsCsvError::TooManyRows);
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(out.rows as u64 + 1, |p| p.line());
                out.rejected.push(RowError {
                    line,
                    error: format!("unreadable row: {e}"),
                });
                continue;
            }
        };
        let line = record.position().map_or(out.rows as u64 + 1, |p| p.line());
        if record.iter().all(str::is_empty) {
            out.rows -= 1; // blank lines are not rows
            continue;
        }
        let raw = record.get(phone_col).unwrap_or("");
        let phone = match dial_target(raw) {
            Ok(p) if !p.starts_with("sip:") => p,
            _ if raw.is_empty() => {
                out.rejected.push(RowError {
                    line,
                    error: "no phone number".into(),
                });
                continue;
            }
            _ => {
                out.rejected.push(RowError {
                    line,
                    error: format!("{raw:?} is not a phone number (E.164 or 10-digit Indian)"),
                });
                continue;
            }
        };
        if !seen.insert(phone.clone()) {
            out.duplicates_in_file += 1;
            continue;
        }
        let name = name_col
            .and_then(|c| record.get(c))
            .filter(|n| !n.is_empty())
            .map(|n| n.chars().take(200).collect());
        let mut fields = Map::new();
        for (i, key) in &field_names {
            if let Some(v) = record.get(*i).filter(|v| !v.is_empty()) {
                fields.insert(
                    key.clone(),
                    Value::String(v.chars().take(MAX_FIELD).collect()),
                );
            }
        }
        out.leads.push(ParsedLead {
            line,
            phone,
            name,
            fields,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_found_numbers_normalised_and_bad_rows_named_by_line() {
        let csv = "\u{feff}Customer Name,Mobile No,City,Budget (INR)\n\
                   Rahul Sharma,98765 43210,Noida,80 lakh\n\
                   Priya,+91-98111-22233,Delhi,\n\
                   ,12345,Pune,1 cr\n\
                   \n\
                   Rahul again,09876543210,Noida,\n\
                   Amrit,+44 20 7946 0958,London,\"2,00,000\"\n\
                   No Phone,,Agra,\n";
        let p = parse(csv.as_bytes(), &ColumnMapping::default()).unwrap();
        assert_eq!(p.rows, 6);
        let phones: Vec<&str> = p.leads.iter().map(|l| l.phone.as_str()).collect();
        assert_eq!(
            phones,
            vec!["+919876543210", "+919811122233", "+442079460958"]
        );
        assert_eq!(p.leads[0].line, 2);
        assert_eq!(p.leads[0].name.as_deref(), Some("Rahul Sharma"));
        assert_eq!(p.leads[0].fields["city"], "Noida");
        assert_eq!(p.leads[0].fields["budget_inr"], "80 lakh");
        assert!(
            !p.leads[1].fields.contains_key("budget_inr"),
            "empty cells are left out"
        );
        assert_eq!(p.leads[2].fields["budget_inr"], "2,00,000");
        assert_eq!(p.duplicates_in_file, 1);
        let lines: Vec<u64> = p.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![4, 8], "{:?}", p.rejected);
        assert!(p.rejected[0].error.contains("12345"));
        assert!(p.rejected[1].error.contains("no phone"));
    }

    #[test]
    fn an_explicit_mapping_wins_and_missing_columns_are_named() {
        let csv = "Lead,Whatsapp,Alt\nSonia,9812345678,9000000000\n";
        let m = ColumnMapping {
            phone: Some("Whatsapp".into()),
            name: Some("Lead".into()),
        };
        let p = parse(csv.as_bytes(), &m).unwrap();
        assert_eq!(
            (p.leads[0].phone.as_str(), p.leads[0].name.as_deref()),
            ("+919812345678", Some("Sonia"))
        );
        assert_eq!(p.leads[0].fields["alt"], "9000000000");
        let e = parse(csv.as_bytes(), &ColumnMapping::default()).unwrap_err();
        assert!(
            matches!(e, LeadsCsvError::NoPhoneColumn(ref h) if h.contains("Whatsapp")),
            "{e}"
        );
        let e = parse(
            csv.as_bytes(),
            &ColumnMapping {
                phone: Some("Tel".into()),
                name: None,
            },
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("mapping.phone") && e.to_string().contains("\"Tel\""),
            "{e}"
        );
    }

    #[test]
    fn semicolon_and_tab_separated_files_are_read_too() {
        let p = parse(
            "Name;Mobile;City\nRavi;98765 43210;Agra\nSita;123;Pune\n".as_bytes(),
            &ColumnMapping::default(),
        )
        .unwrap();
        assert_eq!(
            (p.leads.len(), p.leads[0].phone.as_str(), p.rejected[0].line),
            (1, "+919876543210", 3)
        );
        assert_eq!(p.leads[0].fields["city"], "Agra");
        let p = parse(
            "phone\tname\n9812345678\tAsha\n".as_bytes(),
            &ColumnMapping::default(),
        )
        .unwrap();
        assert_eq!(p.leads[0].name.as_deref(), Some("Asha"));
    }

    #[test]
    fn junk_is_refused_without_panicking() {
        assert_eq!(
            parse(b"  \n", &ColumnMapping::default()),
            Err(LeadsCsvError::Empty)
        );
        assert!(matches!(
            parse(b"\xff\xfe\x00p\x00h", &ColumnMapping::default()),
            Err(LeadsCsvError::NotCsv(_))
        ));
        assert!(matches!(
            parse(b"%PDF-1.7\n\x00\x01", &ColumnMapping::default()),
            Err(LeadsCsvError::NotCsv(_))
        ));
        // Ragged rows and stray quotes are per-row problems at worst.
        let p = parse(
            b"phone,name\n9812345678\n\"9812345679,x\n9812345670,a,b,c\n",
            &ColumnMapping::default(),
        )
        .unwrap();
        assert!(p.leads.iter().any(|l| l.phone == "+919812345678"));
        let mut rng = 7u64;
        for _ in 0..200 {
            let junk: Vec<u8> = (0..64)
                .map(|_| {
                    rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1);
                    b"phone,9812345678\n\",ab\r"[(rng >> 33) as usize % 17]
                })
                .collect();
            let _ = parse(&junk, &ColumnMapping::default());
        }
    }
}
