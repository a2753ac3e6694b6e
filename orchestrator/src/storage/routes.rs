//! Call routes: which flow answers which dialled number (SIP) or a site's widget. A SIP number
//! belongs to one site only, so an INVITE finds its site by the number it was sent to.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::sites::now;
use super::{StorageError, Store};
use crate::with_pool;

/// One route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Route {
    /// `sip` or `widget`.
    pub channel: String,
    /// E.164 number (`+911140000000`) for SIP; `*` for the widget (or a SIP catch-all of the site).
    pub number: String,
    /// Flow name: the site's flow, or a shipped one (`assistant`, `order_status`, `sales_qualification`).
    pub flow: String,
    pub created_at: DateTime<Utc>,
}

/// Why a route could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    #[error("number {0} is already routed by another site")]
    NumberTaken(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A dialled number in the form routes store: `+` and digits. `sip:+91...@host`, `tel:` and
/// spaces are stripped; a 10-digit Indian national number gets +91, `0` + 10 digits too.
pub fn normalize_number(raw: &str) -> String {
    let s = raw.trim();
    let s = s
        .strip_prefix("sip:")
        .or_else(|| s.strip_prefix("sips:"))
        .or_else(|| s.strip_prefix("tel:"))
        .unwrap_or(s);
    let user = s.split(['@', ';']).next().unwrap_or("");
    let plus = user.starts_with('+');
    let digits: String = user.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return user.to_string();
    }
    if plus {
        return format!("+{digits}");
    }
    match digits.len() {
        10 => format!("+91{digits}"),
        11 if digits.starts_with('0') => format!("+91{}", &digits[1..]),
        12 if digits.starts_with("91") => format!("+{digits}"),
        _ if digits.starts_with("00") => format!("+{}", &digits[2..]),
        _ => format!("+{digits}"),
    }
}

/// Routes repository: `store.routes()`.
pub struct RoutesRepo<'a> {
    store: &'a Store,
}

impl<'a> RoutesRepo<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    /// Creates or replaces the route of (site, channel, number).
    pub async fn put(
        &self,
        site_id: Uuid,
        channel: &str,
        number: &str,
        flow: &str,
    ) -> Result<Route, RouteError> {
        let created_at = now();
        let res = with_pool!(self.store, |pool| {
            sqlx::query(
                "INSERT INTO call_routes (site_id, channel, number, flow, created_at) VALUES ($1,$2,$3,$4,$5) \
                 ON CONFLICT (site_id, channel, number) DO UPDATE SET flow = excluded.flow",
            )
            .bind(site_id)
            .bind(channel)
            .bind(number)
            .bind(flow)
            .bind(created_at)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        });
        match res {
            Ok(_) => Ok(Route {
                channel: channel.into(),
                number: number.into(),
                flow: flow.into(),
                created_at,
            }),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(RouteError::NumberTaken(number.to_string()))
            }
            Err(e) => Err(StorageError::from(e).into()),
        }
    }

    pub async fn list(&self, site_id: Uuid) -> Result<Vec<Route>, StorageError> {
        Ok(with_pool!(self.store, |pool| {
            sqlx::query_as("SELECT channel, number, flow, created_at FROM call_routes WHERE site_id = $1 ORDER BY channel, number")
                .bind(site_id)
                .fetch_all(pool)
                .await
        })?)
    }

    pub async fn delete(
        &self,
        site_id: Uuid,
        channel: &str,
        number: &str,
    ) -> Result<bool, StorageError> {
        let done = with_pool!(self.store, |pool| {
            sqlx::query(
                "DELETE FROM call_routes WHERE site_id = $1 AND channel = $2 AND number = $3",
            )
            .bind(site_id)
            .bind(channel)
            .bind(number)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(done > 0)
    }

    /// Site and flow for a dialled number (any form `normalize_number` understands).
    pub async fn resolve_sip(&self, callee: &str) -> Result<Option<(Uuid, String)>, StorageError> {
        let number = normalize_number(callee);
        let row: Option<(Uuid, String)> = with_pool!(self.store, |pool| {
            sqlx::query_as(
                "SELECT site_id, flow FROM call_routes WHERE channel = 'sip' AND number = $1",
            )
            .bind(&number)
            .fetch_optional(pool)
            .await
        })?;
        Ok(row)
    }

    /// The flow a site's widget calls run.
    pub async fn resolve_widget(&self, site_id: Uuid) -> Result<Option<String>, StorageError> {
        Ok(with_pool!(self.store, |pool| {
            sqlx::query_scalar("SELECT flow FROM call_routes WHERE site_id = $1 AND channel = 'widget' ORDER BY number LIMIT 1")
                .bind(site_id)
                .fetch_optional(pool)
                .await
        })?)
    }

    /// Routes of a site that use `flow` (a flow in use cannot be deleted).
    pub async fn using_flow(&self, site_id: Uuid, flow: &str) -> Result<Vec<Route>, StorageError> {
        Ok(with_pool!(self.store, |pool| {
            sqlx::query_as("SELECT channel, number, flow, created_at FROM call_routes WHERE site_id = $1 AND flow = $2")
                .bind(site_id)
                .bind(flow)
                .fetch_all(pool)
                .await
        })?)
    }
}

#[cfg(test)]
mod tests {
    use super::normalize_number;

    #[test]
    fn numbers_normalise_to_e164() {
        for (raw, want) in [
            ("+91 11 4000 0000", "+911140000000"),
            ("sip:+911140000000@10.0.0.1:5060", "+911140000000"),
            ("tel:+911140000000", "+911140000000"),
            ("01140000000", "+911140000000"),
            ("1140000000", "+911140000000"),
            ("911140000000", "+911140000000"),
            ("0044207946000", "+44207946000"),
            ("vaarta", "vaarta"),
        ] {
            assert_eq!(normalize_number(raw), want, "{raw}");
        }
    }
}
