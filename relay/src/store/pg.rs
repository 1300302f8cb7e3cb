/*!
The shared backend: records, tombstones, storage keys and small content in PostgreSQL; large content in S3-compatible
object storage ([`super::blobs`]), or in table pieces when no object storage is configured. The only code that speaks
SQL. Several relays use one database at once and behave as one.

| table | what |
| --- | --- |
| `burnlink_links` | one row per link: the encoded record, its state name, whether it holds content, whether its upload is live, its next deadline and size, its page fetches, and whose content it shares (another recipient's link of an upload) |
| `burnlink_contents` | one row per stored content: the storage key, the sealed bytes when small, else the object's name and how many of its parts are durable |
| `burnlink_pieces` | sealed content of about 1 MiB a row, when there is no object storage |
| `burnlink_doomed` | objects whose content ended and whose deletion has not been confirmed yet |
| `burnlink_schema` | the migrations applied |

**Portable SQL.** The claim, like every transition, is one conditional `UPDATE … WHERE id = $1 AND state = $old_state
AND record = $old RETURNING id` (for a claim the old state is `fresh`). No advisory lock, no `LISTEN`, no stored
procedure: the statements run on PostgreSQL and on Postgres-compatible distributed SQL (CockroachDB, YugabyteDB).
Every statement retries on SQLSTATE 40001 (serialization failure) and 40P01 (deadlock), and on a lost connection,
with jittered exponential backoff, until the durable deadline.

**A write whose answer was lost** (the connection dropped after the server got it) is retried and then checked: a
transition whose retry finds the record already equal to the new one was ours (each new record carries a fresh
random lease or timestamp, so another relay cannot have written the same bytes), so the claimer keeps its link.

**Sweeping with several relays.** Each sweep takes its batch of due records with `FOR UPDATE SKIP LOCKED`, so two
relays never work on one record, and changes them in the same transaction.

**Live uploads across relays.** Large content is written in parts (segment objects, or pieces), and each part is
counted in its content row once it is durable. A published upload's readers, on any relay, read the counted parts
and wait for more: this relay's readers are woken at each part, others poll the row every 100 ms (no `LISTEN`, see
above). While published, the upload refreshes its row every 2 s by the database's clock; a row that has gone 10 s
without it belongs to a relay that died, so its readers end with "the upload did not finish" and any relay's sweep
ends the link as UPLOAD_FAILED. Readers reach the end only once the link's row no longer says "uploading".

**Erasure.** Deleting a content row destroys its storage key and small content in one transaction, which also
records any object in `burnlink_doomed`; the object's segments are listed and deleted after that commits, and the
doomed row after that. A failed deletion stays in `burnlink_doomed` for the next sweep of any relay. A segment still
in flight when its link was erased is deleted by its writer once it lands.
*/

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use burnlink_core::link::LinkId;
use burnlink_core::state::{Record, Timestamp};
use bytes::Bytes;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;
use tokio_postgres_rustls::MakeRustlsConnect;

use tokio::sync::watch;

use super::blobs::{Blobs, BlobsUrl, UploadId, PART, PART_CHUNKS};
use super::seal::{self, Algorithm, Opener, Sealer, StorageKey};
use super::{sealed, BlobStream, Decide, Release, Scanned, Store, StoreError, TickBatch, Ticked, Upload, UploadEnded};

/// The database's clock in epoch milliseconds, as SQL. Live uploads' heartbeats and their staleness are both judged
/// by it, so relays whose clocks disagree still agree on which upload is alive.
macro_rules! db_now_ms {
    () => {
        "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT"
    };
}

/// The schema, one migration per version, in order. Never edit a released one: add the next.
const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        "CREATE TABLE burnlink_links (
        id BYTEA PRIMARY KEY,
        record BYTEA NOT NULL,
        state TEXT NOT NULL,
        holds BOOLEAN NOT NULL,
        deadline BIGINT NOT NULL,
        size BIGINT NOT NULL
    );
    CREATE INDEX burnlink_links_deadline ON burnlink_links (deadline);
    CREATE INDEX burnlink_links_stored ON burnlink_links (size) WHERE holds;
    CREATE TABLE burnlink_contents (
        id BYTEA PRIMARY KEY,
        storage_key BYTEA NOT NULL,
        inline BYTEA,
        object TEXT,
        upload TEXT,
        sealed_len BIGINT,
        touched BIGINT NOT NULL
    );
    CREATE TABLE burnlink_pieces (
        id BYTEA NOT NULL,
        n INTEGER NOT NULL,
        data BYTEA NOT NULL,
        PRIMARY KEY (id, n)
    );
    CREATE TABLE burnlink_doomed (
        object TEXT PRIMARY KEY,
        upload TEXT,
        since BIGINT NOT NULL
    );",
    ),
    (
        2,
        // Content written as parts (segment objects or pieces) counts them as they become durable, so a live upload
        // is read behind its writer. NULL: a schema-1 row (one object, or pieces counted by its length).
        // A live upload's link says so in a column, so a sweep finds the ones whose relay died without decoding
        // every record.
        // And which AEAD sealed it (see `seal::Algorithm`; 0, ChaCha20-Poly1305, is what schema 1 used).
        "ALTER TABLE burnlink_contents ADD COLUMN segments INTEGER;
         ALTER TABLE burnlink_contents ADD COLUMN seal SMALLINT NOT NULL DEFAULT 0;
         ALTER TABLE burnlink_links ADD COLUMN uploading BOOLEAN NOT NULL DEFAULT false;
         CREATE INDEX burnlink_links_uploading ON burnlink_links (id) WHERE uploading;",
    ),
    (
        3,
        // How many times each link's page was fetched (the sender's event log), beside the record so that a page
        // fetch never changes the record that claims compare against.
        "ALTER TABLE burnlink_links ADD COLUMN previews INTEGER NOT NULL DEFAULT 0;",
    ),
    (
        4,
        // Another recipient's link of an upload names whose content it shares, so tidying keeps that content while
        // any of them still holds it.
        "ALTER TABLE burnlink_links ADD COLUMN content BYTEA;
         CREATE INDEX burnlink_links_content ON burnlink_links (content) WHERE content IS NOT NULL;",
    ),
];

/// Sealed chunks per table piece (about 1 MiB).
const PIECE_CHUNKS: usize = 16;
const PIECE: usize = PIECE_CHUNKS * seal::SEALED_CHUNK;
/// A published upload refreshes its content row this often (an upload also does at each part), so readers and
/// sweeps on every relay can tell it from one whose relay died.
const HEARTBEAT: Duration = Duration::from_secs(2);
/// A published upload whose row went unrefreshed this long (by the database's clock) was cut off: its readers end
/// with [`UploadEnded`] and a sweep ends its link as UPLOAD_FAILED.
const LIVE_STALE: Duration = Duration::from_secs(10);
/// How often a reader looks for more of a live upload written on another relay (this relay's readers are woken).
const LIVE_POLL: Duration = Duration::from_millis(100);
/// A content row with no link, untouched this long, was left by an upload that died: a sweep removes it. (An
/// unpublished upload refreshes its row at each part: a part every 10 minutes is far below the relay's rate floor.)
const STALE: Duration = Duration::from_secs(10 * 60);
/// A doomed object is retried by a sweep once its deletion has had this long.
const DOOMED_GRACE: Duration = Duration::from_secs(60);
/// Rows a tidy pass handles at once.
const TIDY_BATCH: i64 = 100;

fn wall_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn ms(d: Duration) -> i64 {
    d.as_millis() as i64
}

/// How to reach the database and the object storage.
#[derive(Clone, Debug)]
pub struct PgOptions {
    /// `postgres://USER[:PASSWORD]@HOST[:PORT]/DB`.
    pub url: String,
    /// Object storage for content above `inline_threshold`; without it large content goes to table pieces.
    pub blobs: Option<BlobsUrl>,
    /// Largest content kept in its content row.
    pub inline_threshold: usize,
    /// How long a statement keeps retrying before it fails.
    pub deadline: Duration,
    /// Database connections this relay keeps.
    pub pool_size: usize,
    /// Certificates (PEM) that the database's TLS certificate must chain to, instead of the public web roots.
    pub ca: Option<std::path::PathBuf>,
}

/// Counters, for tests and operators.
#[derive(Debug, Default)]
pub struct PgStats {
    /// Objects deleted from object storage (content ends, abandoned uploads, retried deletions).
    pub objects_deleted: AtomicU64,
    /// Statements retried after a conflict or a lost connection.
    pub retries: AtomicU64,
}

struct Inner {
    pool: Pool,
    /// Live uploads running on this relay: their readers here are woken at each part.
    live: Mutex<HashMap<LinkId, watch::Receiver<()>>>,
    blobs: Option<Blobs>,
    inline_threshold: usize,
    deadline: Duration,
    stats: PgStats,
}

/// The PostgreSQL (+ S3) backend.
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

/// Why a statement failed, as far as retrying goes.
enum Failure {
    /// Retry: a serialization failure, a deadlock, or the connection (the server restarting, say).
    Transient { lost_connection: bool, why: String },
    /// Don't.
    Fatal(StoreError),
}

impl From<tokio_postgres::Error> for Failure {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.code().map(|c| c.code()) {
            Some("40001" | "40P01") => Failure::Transient { lost_connection: false, why: e.to_string() },
            // Connection exceptions, and the server shutting down or starting up.
            Some(c) if c.starts_with("08") || matches!(c, "57P01" | "57P02" | "57P03") => {
                Failure::Transient { lost_connection: true, why: e.to_string() }
            }
            Some(_) => Failure::Fatal(StoreError::Db(describe(&e))),
            // No SQLSTATE: the connection broke (closed, reset, refused) or could not be made.
            None => Failure::Transient { lost_connection: true, why: describe(&e) },
        }
    }
}

impl From<PoolError> for Failure {
    fn from(e: PoolError) -> Self {
        match e {
            PoolError::Backend(e) => e.into(),
            other => Failure::Transient { lost_connection: true, why: other.to_string() },
        }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Fatal(e)
    }
}

/// The server's own words for an error (tokio-postgres' `Display` says only "db error").
fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => super::with_causes(e),
    }
}

fn unique_violation(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
}

fn corrupt<T>(_: T) -> StoreError {
    StoreError::Corrupt
}

/// Whether an encoded record is in a state that holds content.
fn holds(encoded: &[u8]) -> bool {
    Record::decode(encoded).is_ok_and(|r| r.state.kind().holds_content())
}

fn link_id(b: &[u8]) -> Result<LinkId, StoreError> {
    Ok(LinkId(b.try_into().map_err(corrupt)?))
}

/// A record's columns besides its id.
struct Columns {
    record: Vec<u8>,
    state: &'static str,
    holds: bool,
    uploading: bool,
    deadline: i64,
    size: i64,
}

impl Columns {
    fn of(r: &Record) -> Self {
        Columns {
            record: r.encode(),
            state: r.state.kind().name(),
            holds: r.state.kind().holds_content(),
            uploading: r.uploading,
            deadline: r.next_deadline().0 as i64,
            size: r.size as i64,
        }
    }
}

impl PgStore {
    /// Connects, runs the migrations this relay knows (idempotently: several relays may start at once) and refuses a
    /// database that a newer relay has migrated further.
    pub async fn open(opts: &PgOptions) -> Result<Self, StoreError> {
        let mut pg: tokio_postgres::Config =
            opts.url.parse().map_err(|e| StoreError::Db(format!("--database is not a PostgreSQL URL: {e}")))?;
        // TLS unless the database is on this machine. A URL's own `sslmode` wins; whenever TLS is used, the server's
        // certificate is verified against `ca` (or the web roots) and its name, which is stricter than libpq's
        // `require`.
        if !opts.url.contains("sslmode=") {
            pg.ssl_mode(if is_local(&pg) { SslMode::Disable } else { SslMode::Require });
        }
        let tls = MakeRustlsConnect::new(tls_config(opts.ca.as_deref())?);
        let mgr = Manager::from_config(pg, tls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(mgr)
            .max_size(opts.pool_size.max(1))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(opts.deadline))
            .create_timeout(Some(Duration::from_secs(5)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|e| StoreError::Db(e.to_string()))?;
        let blobs = opts.blobs.as_ref().map(|u| Blobs::connect(u, opts.deadline)).transpose()?;
        let store = Self {
            inner: Arc::new(Inner {
                pool,
                live: Mutex::default(),
                blobs,
                inline_threshold: opts.inline_threshold,
                deadline: opts.deadline,
                stats: PgStats::default(),
            }),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Counters.
    pub fn stats(&self) -> &PgStats {
        &self.inner.stats
    }

    /// The object storage, if any (tests: list what the bucket holds).
    pub fn blobs(&self) -> Option<&Blobs> {
        self.inner.blobs.as_ref()
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let known = MIGRATIONS.last().map_or(0, |m| m.0);
        let newest = self
            .run(|mut c, _| async move {
                c.batch_execute(
                    "CREATE TABLE IF NOT EXISTS burnlink_schema (version INTEGER PRIMARY KEY, applied_ms BIGINT NOT NULL)",
                )
                .await
                .map_err(migration_race)?;
                for (version, sql) in MIGRATIONS {
                    let tx = c.transaction().await?;
                    if tx.query_opt("SELECT 1 FROM burnlink_schema WHERE version = $1", &[version]).await?.is_some() {
                        continue;
                    }
                    tx.batch_execute(sql).await.map_err(migration_race)?;
                    tx.execute("INSERT INTO burnlink_schema (version, applied_ms) VALUES ($1, $2)", &[version, &wall_ms()])
                        .await
                        .map_err(migration_race)?;
                    tx.commit().await.map_err(migration_race)?;
                    tracing::info!(version, "applied a database migration");
                }
                let newest: Option<i32> = c.query_one("SELECT max(version) FROM burnlink_schema", &[]).await?.get(0);
                Ok(newest.unwrap_or(0))
            })
            .await?;
        if newest > known {
            return Err(StoreError::Db(format!(
                "the database is at schema version {newest}, newer than this relay's {known}: upgrade the relay"
            )));
        }
        Ok(())
    }

    /// Runs `f` on a pooled connection, retrying transient failures with jittered backoff until the deadline. `f`'s
    /// second argument says whether an earlier try lost its connection mid-statement (its write may have happened).
    async fn run<T, F, Fut>(&self, mut f: F) -> Result<T, StoreError>
    where
        F: FnMut(Object, bool) -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let started = Instant::now();
        let mut backoff = Duration::from_millis(10);
        let mut lost = false;
        loop {
            let attempt = async { f(self.inner.pool.get().await?, lost).await };
            match attempt.await {
                Ok(v) => return Ok(v),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Transient { lost_connection, why }) => {
                    lost |= lost_connection;
                    if started.elapsed() + backoff > self.inner.deadline {
                        tracing::warn!("the database did not answer within {:?}: {why}", self.inner.deadline);
                        return Err(StoreError::Unreachable(self.inner.deadline, why));
                    }
                    self.inner.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!("retrying a database statement: {why}");
                    let jitter = rand::Rng::gen_range(&mut rand::rngs::OsRng, 0.5..1.0);
                    tokio::time::sleep(backoff.mul_f64(jitter)).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    /// Runs one statement, prepared once per connection, with `run`'s retries; returns its rows.
    async fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, StoreError> {
        self.run(|c, _| async move {
            let st = c.prepare_cached(sql).await?;
            Ok(c.query(&st, params).await?)
        })
        .await
    }

    /// Like `query`, for a statement whose answer is how many rows it changed.
    async fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, StoreError> {
        self.run(|c, _| async move {
            let st = c.prepare_cached(sql).await?;
            Ok(c.execute(&st, params).await?)
        })
        .await
    }

    async fn get_encoded(&self, id: &LinkId) -> Result<Option<Vec<u8>>, StoreError> {
        let rows = self.query("SELECT record FROM burnlink_links WHERE id = $1", &[&&id.0[..]]).await?;
        Ok(rows.first().map(|r| r.get(0)))
    }

    /// Deletes what is left of an object: its upload's parts and the object, then its doomed row.
    async fn bury(&self, object: &str, upload: Option<&UploadId>) -> Result<(), StoreError> {
        let Some(blobs) = &self.inner.blobs else { return Ok(()) };
        blobs.delete(object, upload).await?;
        self.inner.stats.objects_deleted.fetch_add(1, Ordering::Relaxed);
        // Object names are random and say nothing about links; tests count these lines across relays.
        tracing::debug!(object, "deleted an object");
        self.execute("DELETE FROM burnlink_doomed WHERE object = $1", &[&object]).await.map(drop)
    }

    /// Erases a content row (key, small content, pieces) in one transaction; returns its object, if any, now doomed.
    async fn erase_row(&self, id: &LinkId) -> Result<Option<(String, Option<UploadId>)>, StoreError> {
        let (idb, now) = (&id.0[..], wall_ms());
        self.run(|mut c, _| async move {
            let tx = c.transaction().await?;
            let row = tx
                .query_opt(
                    "WITH c AS (DELETE FROM burnlink_contents WHERE id = $1 RETURNING object, upload),
                          d AS (INSERT INTO burnlink_doomed (object, upload, since)
                                SELECT object, upload, $2 FROM c WHERE object IS NOT NULL
                                ON CONFLICT (object) DO NOTHING)
                     SELECT object, upload FROM c",
                    &[&idb, &now],
                )
                .await?;
            // A statement of its own, so it sees a piece whose insert the delete above waited for; a piece inserted
            // later finds no row to go beside (see `count_part`).
            tx.execute("DELETE FROM burnlink_pieces WHERE id = $1", &[&idb]).await?;
            tx.commit().await?;
            Ok(row.and_then(|r| r.get::<_, Option<String>>(0).map(|o| (o, r.get(1)))))
        })
        .await
    }

    async fn tidy_contents(&self) -> Result<usize, StoreError> {
        let stale = wall_ms() - ms(STALE);
        let rows = self
            .query(
                "SELECT c.id FROM burnlink_contents c LEFT JOIN burnlink_links l ON l.id = c.id
                 WHERE ((l.id IS NULL AND c.touched < $1) OR l.holds = false)
                   AND NOT EXISTS (SELECT 1 FROM burnlink_links m WHERE m.content = c.id AND m.holds)
                 LIMIT $2",
                &[&stale, &TIDY_BATCH],
            )
            .await?;
        let mut n = 0;
        for row in rows {
            let id = link_id(row.get(0))?;
            // A link whose content ended but whose erase never ran, or an upload a dead relay left: erase it the same
            // way. The statement is atomic, so two relays tidying at once erase it once.
            if let Some((object, upload)) = self.erase_row(&id).await? {
                self.bury(&object, upload.as_ref()).await?;
            }
            n += 1;
        }
        Ok(n)
    }

    async fn tidy_doomed(&self) -> Result<usize, StoreError> {
        let (now, due) = (wall_ms(), wall_ms() - ms(DOOMED_GRACE));
        // Take a batch for one grace period, so no other relay retries the same objects meanwhile.
        let rows = self
            .query(
                "UPDATE burnlink_doomed SET since = $1 WHERE object IN
                   (SELECT object FROM burnlink_doomed WHERE since < $2 LIMIT $3 FOR UPDATE SKIP LOCKED)
                 RETURNING object, upload",
                &[&now, &due, &TIDY_BATCH],
            )
            .await?;
        let n = rows.len();
        for row in rows {
            let upload: Option<UploadId> = row.get(1);
            self.bury(row.get(0), upload.as_ref()).await?;
        }
        Ok(n)
    }
}

/// Whether every host the URL names is this machine (a Unix socket or a loopback address).
fn is_local(pg: &tokio_postgres::Config) -> bool {
    pg.get_hosts().iter().all(|h| match h {
        Host::Unix(_) => true,
        Host::Tcp(name) => {
            name == "localhost"
                || name.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
    })
}

/// The TLS client for the database: ring, TLS 1.2+, and the roots in `ca` (PEM) or else the web's.
fn tls_config(ca: Option<&std::path::Path>) -> Result<rustls::ClientConfig, StoreError> {
    let mut roots = rustls::RootCertStore::empty();
    match ca {
        Some(path) => {
            let pem = std::fs::read(path)?;
            for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(&pem) {
                let cert: rustls::pki_types::CertificateDer<'static> =
                    cert.map_err(|e| StoreError::Db(format!("{}: {e}", path.display())))?;
                roots.add(cert).map_err(|e| StoreError::Db(format!("{}: {e}", path.display())))?;
            }
            if roots.is_empty() {
                return Err(StoreError::Db(format!("{} holds no certificate", path.display())));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Db(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// During migrations, another relay creating the same table, index or column first is a race to retry (the retry
/// finds that version applied), not a failure.
fn migration_race(e: tokio_postgres::Error) -> Failure {
    match e.code().map(|c| c.code()) {
        // unique_violation, duplicate_table, duplicate_object, duplicate_column.
        Some("23505" | "42P07" | "42710" | "42701") => {
            Failure::Transient { lost_connection: false, why: e.to_string() }
        }
        _ => e.into(),
    }
}

#[async_trait::async_trait]
impl Store for PgStore {
    async fn get(&self, id: &LinkId) -> Result<Option<Record>, StoreError> {
        match self.get_encoded(id).await? {
            None => Ok(None),
            Some(v) => Record::decode(&v).map(Some).map_err(corrupt),
        }
    }

    async fn swap(&self, id: &LinkId, old: &Record, new: Option<&Record>) -> Result<bool, StoreError> {
        let (idb, old_bytes, old_state) = (&id.0[..], &old.encode(), old.state.kind().name());
        let new_row = new.map(Columns::of);
        let new_row = &new_row;
        self.run(|c, lost| async move {
            let changed = match new_row {
                Some(n) => {
                    let st = c
                        .prepare_cached(
                            "UPDATE burnlink_links SET record = $3, state = $4, holds = $5, deadline = $6, uploading = $8
                             WHERE id = $1 AND state = $7 AND record = $2 RETURNING id",
                        )
                        .await?;
                    let args: [&(dyn tokio_postgres::types::ToSql + Sync); 8] =
                        [&idb, old_bytes, &n.record, &n.state, &n.holds, &n.deadline, &old_state, &n.uploading];
                    c.query_opt(&st, &args).await?.is_some()
                }
                None => {
                    let st = c
                        .prepare_cached("DELETE FROM burnlink_links WHERE id = $1 AND record = $2 RETURNING id")
                        .await?;
                    c.query_opt(&st, &[&idb, old_bytes]).await?.is_some()
                }
            };
            if changed || !lost {
                return Ok(changed);
            }
            // An earlier try lost its connection: it may have made this very change. It did if the record is now
            // exactly the new one (or gone, for a purge).
            let st = c.prepare_cached("SELECT record FROM burnlink_links WHERE id = $1").await?;
            let now: Option<Vec<u8>> = c.query_opt(&st, &[&idb]).await?.map(|r| r.get(0));
            Ok(now.as_deref() == new_row.as_ref().map(|n| &n.record[..]))
        })
        .await
    }

    async fn upload(&self, id: &LinkId) -> Result<Box<dyn Upload>, StoreError> {
        let key = StorageKey::generate();
        let algorithm = Algorithm::preferred();
        Ok(Box::new(PgUpload {
            store: self.clone(),
            id: *id,
            algorithm,
            sealer: Some(Sealer::new(&key, id, algorithm)),
            key,
            out: Vec::new(),
            written: 0,
            sent: 0,
            parts: 0,
            spilled: None,
            wake: Arc::new(watch::channel(()).0),
            heartbeat: None,
            committed: false,
        }))
    }

    async fn open(&self, id: &LinkId, offset: u64) -> Result<Option<BlobStream>, StoreError> {
        let rows = self
            .query(
                "SELECT c.storage_key, c.inline, c.object, c.sealed_len, c.segments, COALESCE(l.uploading, false),
                        c.seal
                 FROM burnlink_contents c LEFT JOIN burnlink_links l ON l.id = c.id WHERE c.id = $1",
                &[&&id.0[..]],
            )
            .await?;
        let Some(row) = rows.first() else { return Ok(None) };
        let (inline, object, sealed_len, segments): (Option<Vec<u8>>, Option<String>, Option<i64>, Option<i32>) =
            (row.get(1), row.get(2), row.get(3), row.get(4));
        let uploading: bool = row.get(5);
        if sealed_len.is_none() && !uploading {
            return Ok(None); // an upload not (yet) anybody's to read
        }
        let mut key: [u8; 32] = row.get::<_, &[u8]>(0).try_into().map_err(corrupt)?;
        let storage_key = StorageKey::from_bytes(key).ok_or(StoreError::Lost)?;
        burnlink_core::zeroize::Zeroize::zeroize(&mut key);
        let algorithm =
            Algorithm::from_byte(u8::try_from(row.get::<_, i16>(6)).map_err(corrupt)?).ok_or(StoreError::Corrupt)?;
        let opener = Opener::new(&storage_key, id, algorithm);
        let (first, skip) = sealed::start(offset);
        if let Some(inline) = inline {
            let sealed_len = sealed_len.unwrap_or(0) as u64;
            let from = (first * seal::SEALED_CHUNK as u64).min(sealed_len);
            let rest = Bytes::from(inline).slice(from as usize..);
            let body = futures_util::stream::iter([Ok(rest)]);
            return Ok(Some(sealed::open_stream(body, opener, first, skip)));
        }
        let blobs = match &object {
            Some(_) => Some(self.inner.blobs.clone().ok_or(StoreError::Lost)?),
            None => None,
        };
        if let (Some(blobs), Some(object), None, Some(sealed_len)) = (&blobs, &object, segments, sealed_len) {
            // A schema-1 object: one object, ranged reads.
            let from = (first * seal::SEALED_CHUNK as u64).min(sealed_len as u64);
            let body = match blobs.read(object, from, sealed_len as u64).await {
                Ok(body) => body,
                // Erased meanwhile (another relay ended the link): nothing stored, as for a missing row.
                Err(_) if self.get_encoded(id).await?.is_none_or(|r| !holds(&r)) => return Ok(None),
                Err(e) => return Err(e),
            };
            return Ok(Some(sealed::open_stream(body, opener, first, skip)));
        }
        let chunks_per_part = if object.is_some() { PART_CHUNKS } else { PIECE_CHUNKS } as u64;
        let part_len = chunks_per_part as usize * seal::SEALED_CHUNK;
        let known = match (segments, sealed_len) {
            (Some(n), _) => n,
            // Schema-1 pieces: counted by the content's length.
            (None, Some(len)) => (len as u64).div_ceil(part_len as u64) as i32,
            (None, None) => 0,
        };
        let wake = self.inner.live.lock().expect("not poisoned").get(id).cloned();
        let parts = Parts {
            store: self.clone(),
            id: *id,
            source: match (blobs, object) {
                (Some(blobs), Some(name)) => Source::Segments(blobs, name),
                _ => Source::Pieces,
            },
            next: (first / chunks_per_part) as i32,
            skip: (first % chunks_per_part) as usize * seal::SEALED_CHUNK,
            known,
            done: sealed_len.is_some() && !uploading,
            ahead: None,
            wake,
        };
        // The first part is fetched before this returns, so unreachable object storage is an error here, before
        // anything (a claim) depends on the content.
        let parts = match parts.first_fetched().await {
            Ok(parts) => parts,
            // Erased meanwhile (another relay ended the link): nothing stored, as for a missing row.
            Err(_) if self.get_encoded(id).await?.is_none_or(|r| !holds(&r)) => return Ok(None),
            Err(e) => return Err(StoreError::Blobs(e.to_string())),
        };
        Ok(Some(sealed::open_stream(parts.stream(), opener, first, skip)))
    }

    async fn erase(&self, id: &LinkId) -> Result<(), StoreError> {
        if let Some((object, upload)) = self.erase_row(id).await? {
            // Doomed and committed: if this deletion fails, a sweep retries it.
            if let Err(e) = self.bury(&object, upload.as_ref()).await {
                tracing::warn!(link = %id.short(), "deleting an object failed, a sweep will retry: {e}");
            }
        }
        Ok(())
    }

    async fn scan(&self, after: Option<LinkId>, limit: usize) -> Result<Vec<Scanned>, StoreError> {
        let after = after.map(|a| a.0.to_vec()).unwrap_or_default();
        let rows = self
            .query(
                "SELECT id, record FROM burnlink_links WHERE id > $1 ORDER BY id LIMIT $2",
                &[&after, &(limit as i64)],
            )
            .await?;
        rows.iter().map(|r| Ok((link_id(r.get(0))?, Record::decode(r.get(1)).map_err(corrupt)))).collect()
    }

    fn available(&self) -> Option<u64> {
        None
    }

    async fn tick_due(
        &self,
        _after: Option<LinkId>,
        now: Timestamp,
        limit: usize,
        decide: Decide<'_>,
    ) -> Result<TickBatch, StoreError> {
        let (now_ms, limit) = (now.0 as i64, limit as i64);
        self.run(|mut c, _| async move {
            let tx = c.transaction().await?;
            let due = tx
                .query(
                    "SELECT id, record FROM burnlink_links WHERE deadline <= $1 ORDER BY deadline LIMIT $2
                     FOR UPDATE SKIP LOCKED",
                    &[&now_ms, &limit],
                )
                .await?;
            let full = due.len() as i64 == limit;
            let mut out = TickBatch::default();
            let (mut ids, mut records, mut states, mut holds, mut deadlines, mut uploading, mut purged) =
                (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
            for row in due {
                let id = link_id(row.get::<_, &[u8]>(0))?;
                let Ok(old) = Record::decode(row.get::<_, &[u8]>(1)) else {
                    out.bad += 1;
                    continue;
                };
                let Some(new) = decide(&old) else { continue };
                match &new {
                    Some(n) => {
                        let r = Columns::of(n);
                        ids.push(id.0.to_vec());
                        records.push(r.record);
                        states.push(r.state);
                        holds.push(r.holds);
                        deadlines.push(r.deadline);
                        uploading.push(r.uploading);
                    }
                    None => purged.push(id.0.to_vec()),
                }
                out.changed.push(Ticked { id, old, new });
            }
            if !ids.is_empty() {
                tx.execute(
                    "UPDATE burnlink_links AS l SET record = u.record, state = u.state, holds = u.holds,
                            deadline = u.deadline, uploading = u.uploading
                     FROM unnest($1::bytea[], $2::bytea[], $3::text[], $4::bool[], $5::int8[], $6::bool[])
                          AS u(id, record, state, holds, deadline, uploading)
                     WHERE l.id = u.id",
                    &[&ids, &records, &states, &holds, &deadlines, &uploading],
                )
                .await?;
            }
            if !purged.is_empty() {
                tx.execute("DELETE FROM burnlink_links WHERE id = ANY($1)", &[&purged]).await?;
            }
            tx.commit().await?;
            // Another batch only if this one was full and did something: records that did not decode, or that time
            // did not change, stay due and must not make the sweep spin.
            if full && !out.changed.is_empty() {
                out.next = Some(LinkId([0; 16]));
            }
            Ok(out)
        })
        .await
    }

    async fn tidy(&self) -> Result<usize, StoreError> {
        Ok(self.tidy_contents().await? + self.tidy_doomed().await?)
    }

    async fn cut_off_uploads(&self) -> Result<Vec<LinkId>, StoreError> {
        let rows = self
            .query(
                concat!(
                    "SELECT c.id FROM burnlink_links l JOIN burnlink_contents c ON c.id = l.id
                 WHERE l.uploading AND l.holds
                   AND c.touched < ",
                    db_now_ms!(),
                    " - $1
                 LIMIT $2"
                ),
                &[&ms(LIVE_STALE), &TIDY_BATCH],
            )
            .await?;
        rows.iter().map(|r| link_id(r.get(0))).collect()
    }

    async fn insert(&self, id: &LinkId, record: &Record) -> Result<bool, StoreError> {
        let n = Columns::of(record);
        let (idb, rec) = (&id.0[..], &n.record);
        let content = record.group.as_ref().map(|g| g.content.0.to_vec());
        let content = &content;
        // Its size stays 0 here: the content is counted once, with the link that owns it.
        let inserted = self
            .run(|c, lost| async move {
                let st = c
                    .prepare_cached(
                        "INSERT INTO burnlink_links (id, record, state, holds, deadline, size, content)
                         VALUES ($1, $2, $3, $4, $5, 0, $6) ON CONFLICT (id) DO NOTHING",
                    )
                    .await?;
                let done = c.execute(&st, &[&idb, rec, &n.state, &n.holds, &n.deadline, &content]).await? == 1;
                Ok((done, lost))
            })
            .await?;
        match inserted {
            (true, _) => Ok(true),
            // A retry after a lost answer finds its own insert.
            (false, true) => Ok(self.get_encoded(id).await?.as_deref() == Some(&n.record[..])),
            (false, false) => Ok(false),
        }
    }

    async fn add_previews(&self, counts: &[(LinkId, u32)]) -> Result<(), StoreError> {
        if counts.is_empty() {
            return Ok(());
        }
        let ids: Vec<&[u8]> = counts.iter().map(|(id, _)| &id.0[..]).collect();
        let ns: Vec<i64> = counts.iter().map(|(_, n)| i64::from(*n)).collect();
        // One statement for the batch; a retry after a lost answer may count a batch twice, which a count allows.
        self.execute(
            "UPDATE burnlink_links l SET previews = LEAST(l.previews::BIGINT + v.n, 2147483647)::INTEGER
             FROM unnest($1::BYTEA[], $2::BIGINT[]) AS v(id, n) WHERE l.id = v.id",
            &[&ids, &ns],
        )
        .await
        .map(drop)
    }

    async fn previews(&self, id: &LinkId) -> Result<u32, StoreError> {
        let rows = self.query("SELECT previews FROM burnlink_links WHERE id = $1", &[&&id.0[..]]).await?;
        Ok(rows.first().map_or(0, |r| r.get::<_, i32>(0).max(0) as u32))
    }

    async fn shared_stored_bytes(&self) -> Result<Option<u64>, StoreError> {
        let rows = self.query("SELECT COALESCE(SUM(size), 0)::BIGINT FROM burnlink_links WHERE holds", &[]).await?;
        let total: i64 = rows.first().ok_or(StoreError::Corrupt)?.get(0);
        Ok(Some(total.max(0) as u64))
    }
}

/// How far a content's parts have got.
struct PartsProgress {
    /// Parts durable and counted.
    durable: i32,
    /// All of them are, and the link no longer says "uploading".
    complete: bool,
    /// The writer stopped refreshing the row (by the database's clock, past [`LIVE_STALE`]).
    stale: bool,
}

impl PgStore {
    /// How far `id`'s parts have got; `None` if the row is gone.
    async fn progress(&self, id: &LinkId) -> Result<Option<PartsProgress>, StoreError> {
        let rows = self
            .query(
                concat!(
                    "SELECT c.segments, c.sealed_len IS NOT NULL, COALESCE(l.uploading, false),
                        ",
                    db_now_ms!(),
                    " - c.touched
                 FROM burnlink_contents c LEFT JOIN burnlink_links l ON l.id = c.id WHERE c.id = $1"
                ),
                &[&&id.0[..]],
            )
            .await?;
        let Some(row) = rows.first() else { return Ok(None) };
        let (uploading, stale) = (row.get::<_, bool>(2), row.get::<_, i64>(3) > ms(LIVE_STALE));
        Ok(Some(PartsProgress {
            durable: row.get::<_, Option<i32>>(0).unwrap_or(0),
            complete: row.get::<_, bool>(1) && !uploading,
            stale,
        }))
    }

    /// After an abandoned published upload's last PUT: deletes its segments if its row is already erased (the erase
    /// may have listed them before that PUT landed). If the row is still there, its erase is yet to come.
    async fn delete_stragglers(&self, id: &LinkId, name: &str) -> Result<(), StoreError> {
        let rows = self.query("SELECT 1 FROM burnlink_contents WHERE id = $1", &[&&id.0[..]]).await?;
        match (&self.inner.blobs, rows.is_empty()) {
            (Some(blobs), true) => blobs.delete(name, None).await,
            _ => Ok(()),
        }
    }
}

/// Where a content's parts are.
enum Source {
    /// Segment objects under a name.
    Segments(Blobs, String),
    /// Table pieces.
    Pieces,
}

type Fetch = tokio::task::JoinHandle<io::Result<Bytes>>;

/// A download of content written in parts, read behind its writer when the upload is live: the parts counted so far
/// (one fetched ahead), then a wait for more, until every part is read and the upload finished. It ends with
/// [`UploadEnded`] if the upload's row goes, or its writer stops refreshing it.
struct Parts {
    store: PgStore,
    id: LinkId,
    source: Source,
    /// The next part to read, and the bytes to skip at its start.
    next: i32,
    skip: usize,
    /// Parts known to be durable.
    known: i32,
    /// All parts are counted and the link no longer says "uploading".
    done: bool,
    /// The next part's fetch, started early.
    ahead: Option<(i32, Fetch)>,
    /// This relay's wake-ups for a live upload it runs (`None`: poll).
    wake: Option<watch::Receiver<()>>,
}

impl Parts {
    fn fetch(&self, n: i32, skip: usize) -> Fetch {
        let (store, id) = (self.store.clone(), self.id);
        let source = match &self.source {
            Source::Segments(blobs, name) => Some((blobs.clone(), name.clone())),
            Source::Pieces => None,
        };
        tokio::spawn(async move {
            let part = match source {
                Some((blobs, name)) => blobs.read_segment(&name, n as u32).await.map(|b| b.slice(skip.min(b.len())..)),
                None => store
                    .query("SELECT data FROM burnlink_pieces WHERE id = $1 AND n = $2", &[&&id.0[..], &n])
                    .await
                    .and_then(|rows| {
                        let data: &[u8] = rows.first().ok_or(StoreError::Lost)?.get(0);
                        Ok(Bytes::copy_from_slice(data.get(skip..).unwrap_or_default()))
                    }),
            };
            part.map_err(io::Error::other)
        })
    }

    async fn next_part(&mut self) -> Option<io::Result<Bytes>> {
        loop {
            if self.next < self.known {
                let (n, skip) = (self.next, std::mem::take(&mut self.skip));
                let task = match self.ahead.take() {
                    Some((m, task)) if m == n => task,
                    _ => self.fetch(n, skip),
                };
                self.next += 1;
                if self.next < self.known {
                    self.ahead = Some((self.next, self.fetch(self.next, 0)));
                }
                return Some(task.await.unwrap_or_else(|e| Err(io::Error::other(e))));
            }
            if self.done {
                return None;
            }
            match &mut self.wake {
                Some(w) => {
                    tokio::select! {
                        changed = w.changed() => if changed.is_err() { self.wake = None },
                        _ = tokio::time::sleep(HEARTBEAT) => {}
                    }
                }
                None => tokio::time::sleep(LIVE_POLL).await,
            }
            match self.store.progress(&self.id).await {
                Err(e) => return Some(Err(io::Error::other(e))),
                Ok(None) => return Some(Err(io::Error::other(UploadEnded))),
                Ok(Some(p)) if p.stale && !p.complete => {
                    tracing::debug!(link = %self.id.short(), "a live upload's writer went quiet");
                    return Some(Err(io::Error::other(UploadEnded)));
                }
                Ok(Some(p)) => (self.known, self.done) = (p.durable, p.complete),
            }
        }
    }

    /// Fetches the first part now, if it is known yet; the stream then starts with it.
    async fn first_fetched(mut self) -> io::Result<Self> {
        if self.next < self.known {
            let task = self.fetch(self.next, self.skip);
            let part = task.await.unwrap_or_else(|e| Err(io::Error::other(e)))?;
            self.ahead = Some((self.next, tokio::spawn(async move { Ok(part) })));
        }
        Ok(self)
    }

    fn stream(self) -> impl futures_util::Stream<Item = io::Result<Bytes>> + Send + 'static {
        futures_util::stream::unfold(Some(self), |st| async move {
            let mut st = st?;
            let item = st.next_part().await?;
            let go_on = item.is_ok();
            Some((item, go_on.then_some(st)))
        })
    }
}

impl Drop for Parts {
    fn drop(&mut self) {
        if let Some((_, task)) = self.ahead.take() {
            task.abort();
        }
    }
}

/// What a commit's insert did.
enum Inserted {
    Yes,
    /// Nothing: the id exists, or no content row is waiting. `lost`: an earlier try lost its connection, so the row
    /// there may be this very commit's.
    No {
        lost: bool,
    },
}

type PartTask = tokio::task::JoinHandle<Result<(), StoreError>>;

/// Where a large upload goes once it outgrows its row.
enum Spilled {
    /// Segment objects under `name`, and the PUT in flight (of segment number `parts`).
    Object { name: String, in_flight: Option<PartTask> },
    /// Table pieces.
    Pieces,
}

impl Spilled {
    fn part_len(&self) -> usize {
        match self {
            Spilled::Object { .. } => PART,
            Spilled::Pieces => PIECE,
        }
    }
}

async fn join(task: PartTask) -> Result<(), StoreError> {
    task.await.map_err(|e| StoreError::Blobs(format!("a segment upload failed: {e}")))?
}

/// Counts part `n` of `id` as durable in its content row (refreshing the row too), with the piece itself when the
/// parts are table pieces, and wakes this relay's readers. [`StoreError::Lost`] if the row is gone: the link ended
/// (revoked, expired) or a sweep took the upload for dead.
async fn count_part(
    store: &PgStore,
    id: &LinkId,
    n: i32,
    piece: Option<Bytes>,
    wake: &watch::Sender<()>,
) -> Result<(), StoreError> {
    let idb = &id.0[..];
    let counted = match piece {
        // The piece goes in only beside its counted row, whose lock an erase waits for: no piece outlives its row.
        Some(data) => store
            .query(
                concat!(
                    "WITH c AS (UPDATE burnlink_contents SET segments = $2 + 1,
                                   touched = ",
                    db_now_ms!(),
                    "
                            WHERE id = $1 RETURNING id),
                      p AS (INSERT INTO burnlink_pieces (id, n, data) SELECT id, $2, $3 FROM c
                            ON CONFLICT (id, n) DO NOTHING)
                 SELECT count(*) FROM c"
                ),
                &[&idb, &n, &&data[..]],
            )
            .await?
            .first()
            .map_or(0, |r| r.get::<_, i64>(0)),
        None => {
            store
                .execute(
                    concat!(
                        "UPDATE burnlink_contents SET segments = $2 + 1,
                            touched = ",
                        db_now_ms!(),
                        "
                     WHERE id = $1"
                    ),
                    &[&idb, &n],
                )
                .await? as i64
        }
    };
    if counted != 1 {
        return Err(StoreError::Lost);
    }
    wake.send_replace(());
    Ok(())
}

/// An upload to the PostgreSQL store: sealed as it arrives, in memory up to the inline threshold, then out to object
/// storage (or pieces) part by part, under a content row made before the first part. Each part counts in the row
/// once it is durable, so readers of a published upload, on any relay, read the parts behind the writer.
struct PgUpload {
    store: PgStore,
    id: LinkId,
    algorithm: Algorithm,
    key: StorageKey,
    sealer: Option<Sealer>,
    /// Sealed bytes not yet sent out (all of them while inline).
    out: Vec<u8>,
    written: u64,
    /// Sealed bytes sent out.
    sent: u64,
    /// Parts durable and counted in the content row.
    parts: i32,
    spilled: Option<Spilled>,
    /// Wakes this relay's readers at each counted part, once published (readers elsewhere poll).
    wake: Arc<watch::Sender<()>>,
    /// Once published: refreshes the content row every [`HEARTBEAT`] until the relay releases the readers.
    heartbeat: Option<tokio::task::JoinHandle<()>>,
    committed: bool,
}

impl PgUpload {
    /// Creates the content row, so that from now on nothing this upload writes is unknown.
    async fn spill(&mut self) -> Result<(), StoreError> {
        let (idb, key, now, seal) = (&self.id.0[..], &self.key.expose()[..], wall_ms(), self.algorithm.byte() as i16);
        let object = self.store.inner.blobs.as_ref().map(|_| Blobs::new_name());
        self.store
            .execute(
                "INSERT INTO burnlink_contents (id, storage_key, object, segments, touched, seal)
                 VALUES ($1, $2, $3, 0, $4, $5)",
                &[&idb, &key, &object, &now, &seal],
            )
            .await?;
        self.spilled = Some(match object {
            Some(name) => Spilled::Object { name, in_flight: None },
            None => Spilled::Pieces,
        });
        Ok(())
    }

    /// Waits for the segment in flight, if any: it is then counted.
    async fn land(&mut self) -> Result<(), StoreError> {
        if let Some(Spilled::Object { in_flight, .. }) = &mut self.spilled {
            if let Some(task) = in_flight.take() {
                join(task).await?;
                self.parts += 1;
            }
        }
        Ok(())
    }

    /// Sends the buffered sealed bytes out in whole parts (and the rest too when `last`).
    async fn flush(&mut self, last: bool) -> Result<(), StoreError> {
        let part = self.spilled.as_ref().expect("spilled before flushing").part_len();
        while self.out.len() >= part || (last && !self.out.is_empty()) {
            let n = part.min(self.out.len());
            let data = Bytes::from(self.out.drain(..n).collect::<Vec<u8>>());
            self.sent += n as u64;
            // One segment in flight while the next fills: the previous one lands before this one goes.
            self.land().await?;
            let (store, id, index, wake) = (self.store.clone(), self.id, self.parts, self.wake.clone());
            match self.spilled.as_mut().expect("spilled") {
                Spilled::Object { name, in_flight } => {
                    let blobs = self.store.inner.blobs.clone().expect("an object spill has object storage");
                    let name = name.clone();
                    // Counted as soon as it is stored, so readers get it while the next one fills.
                    *in_flight = Some(tokio::spawn(async move {
                        blobs.put_segment(&name, index as u32, data).await?;
                        count_part(&store, &id, index, None, &wake).await
                    }));
                }
                Spilled::Pieces => {
                    count_part(&store, &id, index, Some(data), &wake).await?;
                    self.parts += 1;
                }
            }
        }
        Ok(())
    }

    /// Everything sealed and durable, counted in the row; returns the sealed length.
    async fn flush_all(&mut self) -> Result<u64, StoreError> {
        self.sealer.take().expect("ended once").finish(&mut self.out);
        if self.spilled.is_some() {
            self.flush(true).await?;
            self.land().await?;
        }
        Ok(self.sent)
    }

    /// Runs `sql`, which inserts this upload's link (`record`) beside its content: "id exists" if it inserted
    /// nothing (the id is taken, or the content row was tidied away), unless an earlier try that lost its connection
    /// inserted it.
    async fn insert_link(&self, sql: &str, args: &[&(dyn ToSql + Sync)], record: &[u8]) -> Result<(), StoreError> {
        let inserted = self
            .store
            .run(|c, lost| async move {
                let st = c.prepare_cached(sql).await?;
                match c.execute(&st, args).await {
                    Ok(1) => Ok(Inserted::Yes),
                    Ok(_) => Ok(Inserted::No { lost }),
                    Err(e) if unique_violation(&e) => Ok(Inserted::No { lost }),
                    Err(e) => Err(e.into()),
                }
            })
            .await?;
        match inserted {
            Inserted::Yes => Ok(()),
            Inserted::No { lost } if lost && self.store.get_encoded(&self.id).await?.as_deref() == Some(record) => {
                Ok(())
            }
            Inserted::No { .. } => Err(StoreError::Db("id exists".into())),
        }
    }

    /// Refreshes the content row every [`HEARTBEAT`] until the row is finished or gone, so readers and sweeps on
    /// every relay can tell a running upload from one whose relay died.
    fn heartbeat(&self) -> tokio::task::JoinHandle<()> {
        let (store, id) = (self.store.clone(), self.id);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(HEARTBEAT);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let beat = store
                    .execute(
                        concat!(
                            "UPDATE burnlink_contents SET touched = ",
                            db_now_ms!(),
                            "
                         WHERE id = $1"
                        ),
                        &[&&id.0[..]],
                    )
                    .await;
                match beat {
                    Ok(1) => {}
                    Ok(_) => return, // erased
                    Err(e) => tracing::warn!(link = %id.short(), "refreshing a live upload failed: {e}"),
                }
            }
        })
    }
}

#[async_trait::async_trait]
impl Upload for PgUpload {
    async fn write(&mut self, data: &[u8]) -> Result<(), StoreError> {
        self.sealer.as_mut().expect("not finished").write(data, &mut self.out);
        self.written += data.len() as u64;
        if self.spilled.is_none() && self.written > self.store.inner.inline_threshold as u64 {
            self.spill().await?;
        }
        if self.spilled.is_some() {
            self.flush(false).await?;
        }
        Ok(())
    }

    fn written(&self) -> u64 {
        self.written
    }

    async fn commit(mut self: Box<Self>, record: &Record) -> Result<(), StoreError> {
        let inline = self.spilled.is_none();
        let sent = self.flush_all().await? as i64;
        let r = Columns::of(record);
        let (id, key, now, seal) = (&self.id.0[..], &self.key.expose()[..], wall_ms(), self.algorithm.byte() as i16);
        let (content, content_len) = (&self.out[..], self.out.len() as i64);
        let (sql, args): (&str, Vec<&(dyn ToSql + Sync)>) = if inline {
            // Content and link in one statement: one round trip, one commit.
            let sql = "WITH c AS (INSERT INTO burnlink_contents (id, storage_key, inline, sealed_len, touched, seal)
                                  VALUES ($1, $2, $3, $4, $5, $11))
                       INSERT INTO burnlink_links (id, record, state, holds, deadline, size)
                       VALUES ($1, $6, $7, $8, $9, $10)";
            let args: Vec<&(dyn ToSql + Sync)> = vec![
                &id,
                &key,
                &content,
                &content_len,
                &now,
                &r.record,
                &r.state,
                &r.holds,
                &r.deadline,
                &r.size,
                &seal,
            ];
            (sql, args)
        } else {
            // The content row made at the spill, completed, and the link, in one statement.
            let sql = "WITH c AS (UPDATE burnlink_contents SET sealed_len = $2, touched = $3
                                  WHERE id = $1 AND sealed_len IS NULL RETURNING id)
                       INSERT INTO burnlink_links (id, record, state, holds, deadline, size)
                       SELECT id, $4, $5, $6, $7, $8 FROM c";
            (sql, vec![&id, &sent, &now, &r.record, &r.state, &r.holds, &r.deadline, &r.size])
        };
        self.insert_link(sql, &args, &r.record).await?;
        self.committed = true;
        Ok(())
    }

    async fn publish(&mut self, record: &Record) -> Result<bool, StoreError> {
        if self.spilled.is_none() {
            self.spill().await?;
            self.flush(false).await?;
        }
        // Readers on this relay find the wake-up from the moment a claim can see the record.
        self.store.inner.live.lock().expect("not poisoned").insert(self.id, self.wake.subscribe());
        let r = Columns::of(record);
        let idb = &self.id.0[..];
        let args: [&(dyn ToSql + Sync); 6] = [&idb, &r.record, &r.state, &r.holds, &r.deadline, &r.size];
        // The link and a fresh heartbeat in one statement, on the database's clock that readers compare against.
        let sql = concat!(
            "WITH c AS (UPDATE burnlink_contents SET touched = ",
            db_now_ms!(),
            "
                              WHERE id = $1 AND sealed_len IS NULL RETURNING id)
                   INSERT INTO burnlink_links (id, record, state, holds, deadline, size, uploading)
                   SELECT id, $2, $3, $4, $5, $6, true FROM c"
        );
        let visible = self.insert_link(sql, &args, &r.record).await;
        if let Err(e) = visible {
            self.store.inner.live.lock().expect("not poisoned").remove(&self.id);
            return Err(e);
        }
        self.heartbeat = Some(self.heartbeat());
        Ok(true)
    }

    async fn finish(mut self: Box<Self>) -> Result<(u64, Release), StoreError> {
        let sealed_len = self.flush_all().await? as i64;
        // `OR sealed_len = $2`: a retry after a lost connection finds its own first try's work.
        let n = self
            .store
            .execute(
                concat!(
                    "UPDATE burnlink_contents SET sealed_len = $2,
                        touched = ",
                    db_now_ms!(),
                    "
                 WHERE id = $1 AND (sealed_len IS NULL OR sealed_len = $2)"
                ),
                &[&&self.id.0[..], &sealed_len],
            )
            .await?;
        if n != 1 {
            return Err(StoreError::Lost); // erased meanwhile: revoked, or taken for dead
        }
        self.committed = true;
        let heartbeat = self.heartbeat.take().expect("published");
        let (inner, id, wake) = (self.store.inner.clone(), self.id, self.wake.clone());
        // Readers read every part now, but reach the end only once the record no longer says "uploading" (which
        // the relay writes before this release); the heartbeat runs until then, so a relay that dies in between
        // still leaves an upload that readers and sweeps can tell is cut off. The release wakes this relay's readers.
        let release = Box::new(move || {
            heartbeat.abort();
            inner.live.lock().expect("not poisoned").remove(&id);
            wake.send_replace(());
        });
        Ok((self.written, release))
    }
}

impl Drop for PgUpload {
    fn drop(&mut self) {
        if self.committed || self.spilled.is_none() {
            return; // nothing of an inline upload reached the database
        }
        let published = match self.heartbeat.take() {
            Some(heartbeat) => {
                heartbeat.abort();
                self.store.inner.live.lock().expect("not poisoned").remove(&self.id);
                // Woken, this relay's readers find the upload ended.
                self.wake.send_replace(());
                true
            }
            None => false,
        };
        let (in_flight, name) = match self.spilled.take() {
            Some(Spilled::Object { name, in_flight }) => (in_flight, Some(name)),
            _ => (None, None),
        };
        // An abandoned large upload: erase its row and delete what it sent, once the segment in flight has landed or
        // failed (so no PUT outlives the deletion). A published one's record owns the row: the relay ends the link
        // as UPLOAD_FAILED, which erases it; this only deletes what landed after that. Without a runtime (shutting
        // down), a sweep of any relay does it all once the row is stale.
        let (store, id) = (self.store.clone(), self.id);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Some(task) = in_flight {
                    let _ = task.await;
                }
                let done = match (published, name) {
                    (false, _) => store.erase(&id).await,
                    (true, Some(name)) => store.delete_stragglers(&id, &name).await,
                    (true, None) => Ok(()),
                };
                if let Err(e) = done {
                    tracing::warn!("cleaning up an abandoned upload failed, a sweep will: {e}");
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_is_the_default_for_any_database_not_on_this_machine() {
        let local = |url: &str| is_local(&url.parse().unwrap());
        for url in [
            "postgres://u@127.0.0.1/db",
            "postgres://u@localhost:5433/db",
            "postgres://u@[::1]/db",
            "postgres://u@%2Fvar%2Frun%2Fpostgresql/db",
        ] {
            assert!(local(url), "{url}");
        }
        for url in ["postgres://u@db.internal/db", "postgres://u@10.0.0.5/db", "postgres://u@127.0.0.1,db.internal/db"]
        {
            assert!(!local(url), "{url}");
        }
    }
}
