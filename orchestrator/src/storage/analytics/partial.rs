//! Mergeable figures of a set of calls: what an hour's rollup stores and what a window's edges
//! contribute. Counts add, histograms merge, peaks take the maximum (the parts of one window
//! never overlap in time), and [`Partial::figures`] turns the sum into the contract's figures.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{DropBreakdown, Figures, OUTCOME_KEYS};

/// Duration percentiles are kept per whole second (exact counts, sums and means stay in ms).
pub const DURATION_BIN_MS: i64 = 1000;
/// Largest `drop_within_s` a caller may ask for; hang-up durations above it share one bin.
pub const MAX_DROP_WITHIN_S: i64 = 3600;

/// A histogram: `(value, count)` sorted by value, each value once, counts > 0.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hist(Vec<(i64, i64)>);

impl Hist {
    /// From `(value, count)` in any order, values possibly repeated.
    pub fn from_pairs(mut pairs: Vec<(i64, i64)>) -> Hist {
        pairs.sort_unstable();
        let mut out: Vec<(i64, i64)> = Vec::with_capacity(pairs.len());
        for (v, n) in pairs {
            match out.last_mut() {
                Some((last, c)) if *last == v => *c += n,
                _ if n > 0 => out.push((v, n)),
                _ => {}
            }
        }
        Hist(out)
    }

    pub fn count(&self) -> i64 {
        self.0.iter().map(|(_, n)| n).sum()
    }

    pub fn sum(&self) -> i64 {
        self.0.iter().map(|(v, n)| v * n).sum()
    }

    /// Values below `limit`.
    pub fn count_below(&self, limit: i64) -> i64 {
        self.0
            .iter()
            .take_while(|(v, _)| *v < limit)
            .map(|(_, n)| n)
            .sum()
    }

    /// The value at 1-based `rank` of the sorted values.
    pub fn at_rank(&self, rank: i64) -> Option<i64> {
        let mut seen = 0;
        self.0
            .iter()
            .find(|(_, n)| {
                seen += n;
                seen >= rank
            })
            .map(|(v, _)| *v)
    }

    /// Nearest-rank percentile: the value at position ⌈p·n/100⌉.
    pub fn percentile(&self, p: i64) -> Option<i64> {
        let n = self.count();
        (n > 0).then(|| self.at_rank(nearest_rank(p, n))).flatten()
    }

    /// Adds `other` (a linear merge of the two sorted lists).
    pub fn merge(&mut self, other: &Hist) {
        if other.0.is_empty() {
            return;
        }
        if self.0.is_empty() {
            self.0.clone_from(&other.0);
            return;
        }
        let mut out = Vec::with_capacity(self.0.len() + other.0.len());
        let (mut a, mut b) = (self.0.iter().peekable(), other.0.iter().peekable());
        loop {
            match (a.peek(), b.peek()) {
                (Some(&&(va, na)), Some(&&(vb, nb))) => {
                    if va == vb {
                        out.push((va, na + nb));
                        a.next();
                        b.next();
                    } else if va < vb {
                        out.push((va, na));
                        a.next();
                    } else {
                        out.push((vb, nb));
                        b.next();
                    }
                }
                (Some(&&x), None) => {
                    out.push(x);
                    a.next();
                }
                (None, Some(&&x)) => {
                    out.push(x);
                    b.next();
                }
                (None, None) => break,
            }
        }
        self.0 = out;
    }
}

/// Counts of many histograms added together: a dense array over the values' range (response
/// milliseconds, seconds of talk: a few thousand slots), so adding the 2,160 hours of a 90-day
/// window costs one step per stored pair, not one pass over the running total per hour.
#[derive(Debug, Default)]
struct DenseSum {
    offset: i64,
    counts: Vec<i64>,
    /// Values too far from the others for the array.
    outliers: Vec<(i64, i64)>,
}

/// Largest dense array (values spread wider go to `outliers`).
const DENSE_SLOTS: i64 = 1 << 16;

impl DenseSum {
    fn add(&mut self, h: &Hist) {
        for &(v, n) in &h.0 {
            if self.counts.is_empty() {
                self.offset = v;
            }
            let lo = self.offset.min(v);
            let hi = (self.offset + self.counts.len() as i64).max(v + 1);
            if hi - lo > DENSE_SLOTS {
                self.outliers.push((v, n));
                continue;
            }
            if lo < self.offset {
                let grow = (self.offset - lo) as usize;
                self.counts.splice(0..0, std::iter::repeat_n(0, grow));
                self.offset = lo;
            }
            if hi > self.offset + self.counts.len() as i64 {
                self.counts.resize((hi - self.offset) as usize, 0);
            }
            self.counts[(v - self.offset) as usize] += n;
        }
    }

    fn finish(self) -> Hist {
        let offset = self.offset;
        let mut pairs: Vec<(i64, i64)> = self
            .counts
            .into_iter()
            .enumerate()
            .filter(|(_, n)| *n > 0)
            .map(|(i, n)| (offset + i as i64, n))
            .collect();
        pairs.extend(self.outliers);
        Hist::from_pairs(pairs)
    }
}

/// Stored delta-coded (small varints once postcard writes them).
impl Serialize for Hist {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut prev = 0;
        let deltas: Vec<(i64, i64)> = self
            .0
            .iter()
            .map(|&(v, n)| {
                let d = v - prev;
                prev = v;
                (d, n)
            })
            .collect();
        deltas.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Hist {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Hist, D::Error> {
        let mut prev = 0;
        let pairs: Vec<(i64, i64)> = Vec::deserialize(d)?;
        Ok(Hist(
            pairs
                .into_iter()
                .map(|(delta, n)| {
                    prev += delta;
                    (prev, n)
                })
                .collect(),
        ))
    }
}

/// Nearest-rank percentile position (1-based) of `p`% among `n` values: ⌈p·n/100⌉.
pub fn nearest_rank(p: i64, n: i64) -> i64 {
    (p * n + 99) / 100
}

/// The additive part of the figures of some calls (those started in an hour, or in a window's
/// edge). Drops that depend on the caller's `drop_within_s` are kept as histograms of the
/// hang-up's talk time, so one rollup serves every `drop_within_s`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Partial {
    pub total: i64,
    pub answered: i64,
    pub ended: i64,
    pub transferred: i64,
    pub transfer_failed: i64,
    /// Answered calls that played a holding message.
    pub holding: i64,
    /// Answered calls ended `completed` or `hung_up_by_api` (AI-handled whatever `drop_within_s`).
    pub ai_base: i64,
    /// Caller hang-ups whose last state was holding (drops during holding).
    pub drop_holding: i64,
    /// Caller hang-ups, not while holding, before the answer (always within the first seconds).
    pub hangup_unanswered: i64,
    /// Answered caller hang-ups (not while holding) with the bot's words last, by whole seconds
    /// of talk, clamped to [`MAX_DROP_WITHIN_S`].
    pub hangup_resolved_s: Hist,
    /// The same with the caller's words last or no transcript.
    pub hangup_unresolved_s: Hist,
    pub outcomes: BTreeMap<String, i64>,
    /// Calls per (final) language, raw language codes ("" = unknown).
    pub call_languages: BTreeMap<String, i64>,
    /// Transcript turns per language.
    pub turn_languages: BTreeMap<String, i64>,
    /// Bot response times, exact milliseconds.
    pub response_ms: Hist,
    /// Talk time of answered, ended calls by whole seconds ([`DURATION_BIN_MS`]).
    pub duration_s: Hist,
    pub duration_sum_ms: i64,
    /// Most calls open at one instant of the part's time range.
    pub peak: i64,
}

fn add_map(into: &mut BTreeMap<String, i64>, from: &BTreeMap<String, i64>) {
    for (k, v) in from {
        *into.entry(k.clone()).or_default() += v;
    }
}

/// Rounds to `places` decimals (the contract's precision of rates and means).
pub fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

fn ratio(n: i64, d: i64) -> Option<f64> {
    (d > 0).then(|| round(n as f64 / d as f64, 4))
}

/// Adds many partials of disjoint time ranges (the hours and edges of a window or bucket).
#[derive(Debug, Default)]
pub struct PartialSum {
    /// The counts (histograms left empty) while more than one part came.
    counts: Option<Partial>,
    hists: [DenseSum; 4],
    /// The only part so far, kept whole (most timeline buckets get one).
    single: Option<Partial>,
}

impl PartialSum {
    pub fn add(&mut self, p: Partial) {
        if self.counts.is_none() && self.single.is_none() {
            self.single = Some(p);
            return;
        }
        if let Some(first) = self.single.take() {
            self.add_many(first);
        }
        self.add_many(p);
    }

    fn add_many(&mut self, mut p: Partial) {
        let hists = [
            std::mem::take(&mut p.hangup_resolved_s),
            std::mem::take(&mut p.hangup_unresolved_s),
            std::mem::take(&mut p.response_ms),
            std::mem::take(&mut p.duration_s),
        ];
        for (sum, h) in self.hists.iter_mut().zip(&hists) {
            sum.add(h);
        }
        match &mut self.counts {
            Some(c) => c.merge(&p),
            None => self.counts = Some(p),
        }
    }

    pub fn finish(self) -> Partial {
        if let Some(p) = self.single {
            return p;
        }
        let mut p = self.counts.unwrap_or_default();
        let [resolved, unresolved, response, duration] = self.hists;
        p.hangup_resolved_s = resolved.finish();
        p.hangup_unresolved_s = unresolved.finish();
        p.response_ms = response.finish();
        p.duration_s = duration.finish();
        p
    }
}

impl Partial {
    /// Adds the figures of calls disjoint in time from these (another hour of the window).
    pub fn merge(&mut self, o: &Partial) {
        self.total += o.total;
        self.answered += o.answered;
        self.ended += o.ended;
        self.transferred += o.transferred;
        self.transfer_failed += o.transfer_failed;
        self.holding += o.holding;
        self.ai_base += o.ai_base;
        self.drop_holding += o.drop_holding;
        self.hangup_unanswered += o.hangup_unanswered;
        self.hangup_resolved_s.merge(&o.hangup_resolved_s);
        self.hangup_unresolved_s.merge(&o.hangup_unresolved_s);
        add_map(&mut self.outcomes, &o.outcomes);
        add_map(&mut self.call_languages, &o.call_languages);
        add_map(&mut self.turn_languages, &o.turn_languages);
        self.response_ms.merge(&o.response_ms);
        self.duration_s.merge(&o.duration_s);
        self.duration_sum_ms += o.duration_sum_ms;
        self.peak = self.peak.max(o.peak);
    }

    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Option<Partial> {
        postcard::from_bytes(bytes).ok()
    }

    /// The contract's figures, with caller hang-ups within `drop_within_s` of the answer as drops.
    pub fn figures(&self, drop_within_s: u32) -> Figures {
        let x = i64::from(drop_within_s);
        let early = self.hangup_unanswered
            + self.hangup_resolved_s.count_below(x)
            + self.hangup_unresolved_s.count_below(x);
        let unresolved = self.hangup_unresolved_s.count() - self.hangup_unresolved_s.count_below(x);
        let resolved_late = self.hangup_resolved_s.count() - self.hangup_resolved_s.count_below(x);
        let drops = DropBreakdown {
            during_holding: self.drop_holding,
            within_first_seconds: early,
            before_resolution: unresolved,
        };
        let dropped_calls =
            drops.during_holding + drops.within_first_seconds + drops.before_resolution;
        let response_turns = self.response_ms.count();
        let duration_calls = self.duration_s.count();
        let mean = |sum: i64, n: i64| (n > 0).then(|| round(sum as f64 / n as f64, 1));
        let mut outcomes: BTreeMap<String, i64> =
            OUTCOME_KEYS.iter().map(|k| (k.to_string(), 0)).collect();
        add_map(&mut outcomes, &self.outcomes);
        Figures {
            total_calls: self.total,
            answered_calls: self.answered,
            ended_calls: self.ended,
            in_progress_calls: self.total - self.ended,
            ai_handled_calls: self.ai_base + resolved_late,
            transferred_calls: self.transferred,
            transfer_failed_calls: self.transfer_failed,
            dropped_calls,
            drops,
            drop_rate: ratio(dropped_calls, self.ended),
            holding_calls: self.holding,
            holding_rate: ratio(self.holding, self.answered),
            response_turns,
            avg_response_ms: mean(self.response_ms.sum(), response_turns),
            p50_response_ms: self.response_ms.percentile(50),
            p90_response_ms: self.response_ms.percentile(90),
            duration_calls,
            avg_duration_ms: mean(self.duration_sum_ms, duration_calls),
            p50_duration_ms: self.duration_s.percentile(50).map(|s| s * DURATION_BIN_MS),
            p90_duration_ms: self.duration_s.percentile(90).map(|s| s * DURATION_BIN_MS),
            peak_concurrent_calls: self.peak,
            outcomes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_is_the_ceiling() {
        assert_eq!(nearest_rank(50, 1), 1);
        assert_eq!(nearest_rank(50, 4), 2);
        assert_eq!(nearest_rank(50, 5), 3);
        assert_eq!(nearest_rank(90, 10), 9);
        assert_eq!(nearest_rank(90, 11), 10);
        assert_eq!(nearest_rank(90, 1), 1);
    }

    #[test]
    fn histogram_percentiles_are_nearest_rank() {
        // 400 500 600 700 700 900 1000 1200 → p50 rank 4 = 700, p90 rank 8 = 1200.
        let h = Hist::from_pairs(vec![
            (1200, 1),
            (400, 1),
            (700, 1),
            (500, 1),
            (600, 1),
            (900, 1),
            (1000, 1),
            (700, 1),
        ]);
        assert_eq!(
            (h.count(), h.sum(), h.percentile(50), h.percentile(90)),
            (8, 6000, Some(700), Some(1200))
        );
        assert_eq!(Hist::from_pairs(vec![(5, 1)]).percentile(90), Some(5));
        assert_eq!(Hist::default().percentile(50), None);
    }

    #[test]
    fn merging_histograms_adds_counts_in_order() {
        let mut a = Hist::from_pairs(vec![(1, 2), (5, 1), (9, 1)]);
        a.merge(&Hist::from_pairs(vec![(0, 1), (5, 2), (10, 3)]));
        assert_eq!(
            a,
            Hist::from_pairs(vec![(0, 1), (1, 2), (5, 3), (9, 1), (10, 3)])
        );
        assert_eq!(a.count_below(5), 3);
        assert_eq!(a.count_below(6), 6);
    }

    #[test]
    fn summing_many_partials_equals_merging_them() {
        let part = |i: i64| Partial {
            total: i,
            peak: i % 7,
            outcomes: [("completed".to_string(), i)].into(),
            response_ms: Hist::from_pairs(vec![
                (400 + i * 13 % 900, 1),
                (380, 2),
                (90_000_000 * (i % 2), 1),
            ]),
            duration_s: Hist::from_pairs(vec![(i, 1), (600 - i, 3)]),
            hangup_resolved_s: Hist::from_pairs(vec![(i % 11, 1)]),
            ..Default::default()
        };
        let (mut merged, mut sum) = (Partial::default(), PartialSum::default());
        for i in 0..200 {
            merged.merge(&part(i));
            sum.add(part(i));
        }
        assert_eq!(sum.finish(), merged);
        let mut one = PartialSum::default();
        one.add(part(3));
        assert_eq!(one.finish(), part(3));
        assert_eq!(PartialSum::default().finish(), Partial::default());
    }

    #[test]
    fn a_partial_survives_its_encoding() {
        let p = Partial {
            total: 3,
            response_ms: Hist::from_pairs(vec![(612, 1), (480, 2), (1931, 1)]),
            duration_s: Hist::from_pairs(vec![(40, 1), (600, 2)]),
            duration_sum_ms: 1_240_500,
            outcomes: [("completed".to_string(), 3)].into(),
            peak: 2,
            ..Default::default()
        };
        assert_eq!(Partial::decode(&p.encode()), Some(p));
        assert_eq!(Partial::decode(b"\xff\xff"), None);
    }

    #[test]
    fn drops_follow_the_callers_threshold() {
        // Hang-ups after 3 s and 30 s of talk, one with the caller's words last.
        let p = Partial {
            total: 3,
            ended: 3,
            answered: 2,
            hangup_unanswered: 1,
            hangup_resolved_s: Hist::from_pairs(vec![(3, 1)]),
            hangup_unresolved_s: Hist::from_pairs(vec![(30, 1)]),
            ..Default::default()
        };
        let f = p.figures(10);
        assert_eq!(
            (
                f.drops.within_first_seconds,
                f.drops.before_resolution,
                f.ai_handled_calls
            ),
            (2, 1, 0)
        );
        let f = p.figures(0);
        assert_eq!(
            (
                f.drops.within_first_seconds,
                f.drops.before_resolution,
                f.ai_handled_calls
            ),
            (1, 1, 1)
        );
        let f = p.figures(31);
        assert_eq!(
            (
                f.drops.within_first_seconds,
                f.drops.before_resolution,
                f.ai_handled_calls,
                f.dropped_calls
            ),
            (3, 0, 0, 3)
        );
    }
}
