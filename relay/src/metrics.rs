//! What an operator may see of a relay: counts of links by what happened to them, previews, wrong proofs, bytes
//! stored, and how long requests and durable writes take, as Prometheus (OpenMetrics) text for `--metrics`.
//!
//! Never an id, a token or an address: the only label is the kind of request, a fixed word. Each relay counts what
//! it did itself (in a cluster, sum over relays); the registry belongs to the relay, not to the process, so tests
//! may run several relays in one.

use std::time::Duration;

use burnlink_core::state::{Record, StateKind};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// The content type of [`Metrics::render`].
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The label of a request's latency: which kind of request (`create`, `claim`, …), nothing else.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Kind {
    request: &'static str,
}

/// One relay's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    created: Counter,
    asked: Counter,
    claimed: Counter,
    consumed: Counter,
    expired: Counter,
    revoked: Counter,
    burned: Counter,
    upload_failed: Counter,
    previews: Counter,
    wrong_proofs: Counter,
    stored: Gauge,
    requests: Family<Kind, Histogram>,
    durable: Histogram,
}

/// 0.1 ms to ~6.5 s: a text's request is a few ms, a sync a fraction of that, and a slow disk shows in the top buckets.
fn latency() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 17))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("burnlink");
        let mut counter = |name: &str, help: &str| {
            let c = Counter::default();
            registry.register(name, help, c.clone());
            c
        };
        let created = counter("links_created", "Links made (each recipient's link and each answer counts)");
        let asked = counter("requests_created", "Requests for a secret made");
        let claimed = counter("links_claimed", "Links claimed by their recipient");
        let consumed = counter("links_consumed", "Links opened to the end (acked, or their lease ran out)");
        let expired = counter("links_expired", "Links and requests that expired unopened");
        let revoked = counter("links_revoked", "Links and requests revoked by their sender");
        let burned = counter("links_burned_by_attempts", "Links burned after too many wrong proofs");
        let upload_failed = counter("links_upload_failed", "Live links whose upload ended early");
        let previews =
            counter("page_previews", "Fetches of a link's page (link previews and recipients before Reveal)");
        let wrong_proofs =
            counter("wrong_proofs", "Claims by a link's holder with a wrong claim key (a wrong passphrase)");
        let stored = Gauge::default();
        registry.register("stored_bytes", "Bytes of content this relay counts as stored", stored.clone());
        let requests = Family::<Kind, Histogram>::new_with_constructor(latency as fn() -> Histogram);
        registry.register("request_duration_seconds", "Time to answer a request, by kind", requests.clone());
        let durable = latency();
        registry.register(
            "durable_write_seconds",
            "Time for a change of a link to become durable (compare-and-set and sync)",
            durable.clone(),
        );
        Self {
            registry,
            created,
            asked,
            claimed,
            consumed,
            expired,
            revoked,
            burned,
            upload_failed,
            previews,
            wrong_proofs,
            stored,
            requests,
            durable,
        }
    }
}

impl Metrics {
    /// `n` new links (a create's, its other recipients', or an answer).
    pub fn created(&self, n: u64) {
        self.created.inc_by(n);
    }

    /// A new request for a secret.
    pub fn asked(&self) {
        self.asked.inc();
    }

    /// A page fetch.
    pub fn previewed(&self) {
        self.previews.inc();
    }

    /// A record changed from `old` to `new` (`None`: purged), durably.
    pub fn changed(&self, old: &Record, new: Option<&Record>) {
        let Some(new) = new else { return };
        let (before, after) = (old.state.kind(), new.state.kind());
        if before != after {
            let counter = match after {
                StateKind::Claimed => &self.claimed,
                StateKind::Consumed => &self.consumed,
                StateKind::Expired => &self.expired,
                StateKind::Revoked => &self.revoked,
                StateKind::BurnedByAttempts => &self.burned,
                StateKind::UploadFailed => &self.upload_failed,
                StateKind::Fresh | StateKind::Asking => return,
            };
            counter.inc();
        }
        self.wrong_proofs.inc_by(new.failed_attempts.saturating_sub(old.failed_attempts).into());
    }

    /// A request of `kind` was answered after `took`.
    pub fn answered(&self, kind: &'static str, took: Duration) {
        self.requests.get_or_create(&Kind { request: kind }).observe(took.as_secs_f64());
    }

    /// A durable write took `took`.
    pub fn durable(&self, took: Duration) {
        self.durable.observe(took.as_secs_f64());
    }

    /// Everything, as OpenMetrics text, with `stored` bytes as the gauge's value.
    pub fn render(&self, stored: u64) -> String {
        self.stored.set(i64::try_from(stored).unwrap_or(i64::MAX));
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}
