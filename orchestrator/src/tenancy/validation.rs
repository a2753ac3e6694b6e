//! Input checks shared by every domain type; the API turns a failure into 422.

/// A field that failed a check, with a message meant for the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Rejects empty, over-long or control-character text (names, labels, messages).
pub fn text(field: &str, value: &str, max_chars: usize) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    let n = value.chars().count();
    if n > max_chars {
        return Err(ValidationError::new(
            field,
            format!("is {n} characters long; the limit is {max_chars}"),
        ));
    }
    if value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ValidationError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// Caps the number of entries in a list or map.
pub fn count(field: &str, n: usize, max: usize) -> Result<(), ValidationError> {
    if n > max {
        return Err(ValidationError::new(
            field,
            format!("has {n} entries; the limit is {max}"),
        ));
    }
    Ok(())
}

/// `http(s)://host[:port][/path]` without spaces; `origin_only` forbids any path.
pub fn http_url(field: &str, value: &str, origin_only: bool) -> Result<(), ValidationError> {
    text(field, value, 2048)?;
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .ok_or_else(|| ValidationError::new(field, "must start with http:// or https://"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || value.contains(char::is_whitespace) {
        return Err(ValidationError::new(
            field,
            "must name a host and contain no spaces",
        ));
    }
    if origin_only && host.len() != rest.len() {
        return Err(ValidationError::new(
            field,
            "must be an origin (scheme://host[:port]) without a path",
        ));
    }
    Ok(())
}
