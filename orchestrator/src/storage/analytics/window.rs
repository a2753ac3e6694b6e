//! `WHERE` clauses of dynamically built analytics queries and their bound arguments.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::AnalyticsQuery;
use crate::storage::DatabaseKind;

/// `column` (a timestamp) as integer milliseconds since the epoch, in `kind`'s SQL.
pub(super) fn epoch_ms(kind: DatabaseKind, column: &str) -> String {
    match kind {
        DatabaseKind::Sqlite => {
            format!("CAST(ROUND(unixepoch({column}, 'subsec') * 1000) AS INTEGER)")
        }
        DatabaseKind::Postgres => {
            format!("CAST(ROUND(EXTRACT(EPOCH FROM {column}) * 1000) AS BIGINT)")
        }
    }
}

/// A bound value of a dynamically built query.
#[derive(Debug, Clone)]
pub(super) enum Arg {
    Uuid(Uuid),
    Text(String),
    Time(DateTime<Utc>),
    Int(i64),
}

/// `WHERE` of the calls (or turns) in a window, with its arguments (placeholders `$1..`).
pub(super) struct Window {
    pub sql: String,
    pub args: Vec<Arg>,
}

impl Window {
    pub fn empty() -> Window {
        Window {
            sql: String::new(),
            args: Vec::new(),
        }
    }

    /// Calls `c` started in `[q.from, q.to)`.
    pub fn calls(q: &AnalyticsQuery) -> Window {
        Self::started_in(q, "c.", "c.started_at")
    }

    /// Turns `t` of the calls started in the window (turns carry their call's columns).
    pub fn turns(q: &AnalyticsQuery) -> Window {
        Self::started_in(q, "t.", "t.call_started_at")
    }

    fn started_in(q: &AnalyticsQuery, alias: &str, started: &str) -> Window {
        let mut w = Window::empty();
        if let Some(s) = q.site_id {
            w.push(&format!("{alias}site_id = "), Arg::Uuid(s));
        }
        w.push(&format!("{started} >= "), Arg::Time(q.from));
        w.push(&format!("{started} < "), Arg::Time(q.to));
        w.filters(q, alias);
        w
    }

    /// Calls of the site (and channel, campaign) regardless of time.
    pub fn any_time(q: &AnalyticsQuery) -> Window {
        let mut w = Window::empty();
        if let Some(s) = q.site_id {
            w.push("c.site_id = ", Arg::Uuid(s));
        }
        w.filters(q, "c.");
        w
    }

    fn filters(&mut self, q: &AnalyticsQuery, alias: &str) {
        if let Some(ch) = q.channel {
            self.push(
                &format!("{alias}channel = "),
                Arg::Text(crate::storage::calls::to_text(&ch)),
            );
        }
        if let Some(c) = q.campaign_id {
            self.push(&format!("{alias}campaign_id = "), Arg::Uuid(c));
        }
    }

    /// Adds `AND <cond><placeholder>`.
    pub fn push(&mut self, cond: &str, arg: Arg) {
        let p = self.arg(arg);
        let and = if self.sql.is_empty() { "" } else { " AND " };
        self.sql += &format!("{and}{cond}{p}");
    }

    /// Adds an argument, returning its placeholder.
    pub fn arg(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    pub fn where_sql(&self) -> String {
        if self.sql.is_empty() {
            "1 = 1".to_string()
        } else {
            self.sql.clone()
        }
    }
}

/// Binds the arguments in order. Statements are not kept prepared: PostgreSQL then plans each
/// with the actual window (a cached generic plan would not know a day from ten years and may
/// scan the whole table).
macro_rules! bind_all {
    ($q:expr, $args:expr) => {{
        let mut q = $q.persistent(false);
        for a in $args.iter() {
            q = match a {
                Arg::Uuid(v) => q.bind(*v),
                Arg::Text(v) => q.bind(v.clone()),
                Arg::Time(v) => q.bind(*v),
                Arg::Int(v) => q.bind(*v),
            };
        }
        q
    }};
}
pub(super) use bind_all;
