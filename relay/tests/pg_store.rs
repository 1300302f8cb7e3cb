//! The PostgreSQL backend against a real PostgreSQL and a real S3 server (SeaweedFS): content of every size in every
//! place it can live, compare-and-set, erasure down to an empty bucket, migrations by relays starting together, and
//! what an abandoned upload, a dead relay or a dead S3 server leaves behind.

use std::time::Duration;

use burnlink_core::link::LinkId;
use burnlink_core::state::{Record, State, Timestamp};
use burnlink_e2e::servers::{Postgres, Seaweed, S3_KEY};
use burnlink_relay::store::{PgOptions, PgStore, Store, StoreError};
use common::{create_request, link_keys, random_payload};
use futures_util::StreamExt;

mod common;

/// SeaweedFS listens on fixed ports: one test at a time uses it (an async lock: each test has its own runtime).
static S3: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const INLINE: usize = 4096;

fn options(pg: &Postgres, s3: Option<&Seaweed>) -> PgOptions {
    std::env::set_var("AWS_ACCESS_KEY_ID", S3_KEY.0);
    std::env::set_var("AWS_SECRET_ACCESS_KEY", S3_KEY.1);
    PgOptions {
        url: pg.url(),
        blobs: s3.map(|s| s.blobs_url().parse().unwrap()),
        inline_threshold: INLINE,
        deadline: Duration::from_secs(10),
        pool_size: 4,
        ca: None,
    }
}

fn record() -> Record {
    Record::new(&create_request(&link_keys(0), 600), 3, Timestamp(0)).unwrap()
}

async fn put(store: &PgStore, id: &LinkId, bytes: &[u8]) {
    let mut up = store.upload(id).await.unwrap();
    for c in bytes.chunks(100_000) {
        up.write(c).await.unwrap();
    }
    up.commit(&record()).await.unwrap();
}

async fn read(store: &PgStore, id: &LinkId, offset: u64) -> Option<Vec<u8>> {
    let mut s = store.open(id, offset).await.unwrap()?;
    let mut v = Vec::new();
    while let Some(b) = s.next().await {
        v.extend_from_slice(&b.unwrap());
    }
    Some(v)
}

async fn objects(store: &PgStore) -> Vec<String> {
    store.blobs().expect("object storage").list().await.unwrap()
}

/// The contents the bucket holds: each is `burnlink/<32 hex>`, as one object or as its segments under that name.
async fn contents_in_bucket(store: &PgStore) -> Vec<String> {
    let mut names: Vec<String> = objects(store).await.iter().map(|o| o[.."burnlink/".len() + 32].to_owned()).collect();
    names.sort();
    names.dedup();
    names
}

fn count(pg: &Postgres, table: &str) -> usize {
    pg.psql(&format!("SELECT count(*) FROM {table}")).parse().unwrap()
}

/// Writes content at each size that matters (empty, inline, one part, several parts with a short last one), reads
/// each back from offsets around every boundary, refuses a second commit of an id, and erases everything.
async fn round_trip(store: &PgStore, pg: &Postgres) {
    let sizes = [0usize, 3, INLINE, INLINE + 1, 1 << 20, (12 << 20) + 17];
    let ids: Vec<LinkId> = (0..sizes.len()).map(|i| LinkId([i as u8 + 1; 16])).collect();
    for (i, (id, &len)) in ids.iter().zip(&sizes).enumerate() {
        put(store, id, &random_payload(len, i as u64)).await;
    }
    for (i, (id, &len)) in ids.iter().zip(&sizes).enumerate() {
        let want = random_payload(len, i as u64);
        for off in [0u64, 1, 65_535, 65_536, 65_537, 5 << 20, (len as u64).saturating_sub(1), len as u64] {
            let off = off.min(len as u64);
            let got = read(store, id, off).await.unwrap();
            assert!(got == want[off as usize..], "size {len} offset {off}: {} bytes back", got.len());
        }
    }
    let mut again = store.upload(&ids[1]).await.unwrap();
    again.write(b"other").await.unwrap();
    let err = again.commit(&record()).await.unwrap_err();
    assert!(err.to_string().contains("id exists"), "{err}");
    assert_eq!(read(store, &ids[1], 0).await.unwrap(), random_payload(3, 1), "the refused commit changed nothing");

    for id in &ids {
        store.erase(id).await.unwrap();
        store.erase(id).await.unwrap(); // idempotent
        assert!(read(store, id, 0).await.is_none());
    }
    assert_eq!(count(pg, "burnlink_contents"), 0);
    assert_eq!(count(pg, "burnlink_pieces"), 0);
    assert_eq!(count(pg, "burnlink_doomed"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_round_trips_in_rows_and_pieces_and_erases() {
    let pg = Postgres::start();
    let store = PgStore::open(&options(&pg, None)).await.unwrap();
    round_trip(&store, &pg).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_round_trips_through_s3_and_every_object_is_deleted_once() {
    let _s3 = S3.lock().await;
    let (pg, s3) = (Postgres::start(), Seaweed::start());
    let store = PgStore::open(&options(&pg, Some(&s3))).await.unwrap();
    round_trip(&store, &pg).await;
    assert_eq!(count(&pg, "burnlink_pieces"), 0, "with object storage, nothing large goes to pieces");
    assert!(objects(&store).await.is_empty(), "the bucket is empty once every link ended");
    // Three sizes above the inline threshold made three objects; each was deleted once, double erases included.
    assert_eq!(store.stats().objects_deleted.load(std::sync::atomic::Ordering::Relaxed), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swap_is_compare_and_set_and_the_claim_names_the_old_state() {
    let pg = Postgres::start();
    let store = PgStore::open(&options(&pg, None)).await.unwrap();
    let id = LinkId([7; 16]);
    put(&store, &id, b"x").await;
    let fresh = record();
    let mut claimed = fresh.clone();
    claimed.state = State::Revoked;
    assert!(store.swap(&id, &fresh, Some(&claimed)).await.unwrap());
    assert!(!store.swap(&id, &fresh, Some(&claimed)).await.unwrap(), "a stale swap fails");
    assert_eq!(pg.psql("SELECT state FROM burnlink_links"), "revoked");
    assert_eq!(store.get(&id).await.unwrap().unwrap().state, State::Revoked);
    assert!(!store.swap(&id, &fresh, None).await.unwrap(), "a stale purge fails");
    assert!(store.swap(&id, &claimed, None).await.unwrap());
    assert!(store.get(&id).await.unwrap().is_none());
}

/// Preview counts sit beside the record: adding them never changes it (a claim's compare-and-set still matches), ids
/// without a link are skipped, and the count goes with the record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_counts_add_up_beside_the_record_and_go_with_it() {
    let pg = Postgres::start();
    let store = PgStore::open(&options(&pg, None)).await.unwrap();
    let (id, stranger) = (LinkId([8; 16]), LinkId([9; 16]));
    put(&store, &id, b"x").await;
    let fresh = record();
    store.add_previews(&[(id, 2), (stranger, 5)]).await.unwrap();
    store.add_previews(&[(id, 3)]).await.unwrap();
    assert_eq!((store.previews(&id).await.unwrap(), store.previews(&stranger).await.unwrap()), (5, 0));
    assert_eq!(count(&pg, "burnlink_links"), 1, "no row made for an id without a link");
    let mut claimed = fresh.clone();
    claimed.state = State::Consumed;
    assert!(store.swap(&id, &fresh, Some(&claimed)).await.unwrap(), "the record is unchanged by the counts");
    store.add_previews(&[(id, u32::MAX)]).await.unwrap();
    assert_eq!(store.previews(&id).await.unwrap(), i32::MAX as u32, "a count saturates");
    assert!(store.swap(&id, &claimed, None).await.unwrap());
    assert_eq!(store.previews(&id).await.unwrap(), 0);
    // Another recipient's link of an upload is a record alone, added once.
    let sibling = LinkId([10; 16]);
    assert!(store.insert(&sibling, &fresh).await.unwrap());
    assert!(!store.insert(&sibling, &fresh).await.unwrap(), "an id exists once");
    assert_eq!(store.get(&sibling).await.unwrap(), Some(fresh));
    assert_eq!(pg.psql("SELECT size FROM burnlink_links WHERE holds"), "0", "its content is counted with its owner");
}

/// Several recipients' links share the content stored under the first: tidying keeps it while any of them still
/// holds it, even after the first has ended, and removes it once none does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_content_is_kept_while_any_recipient_link_holds_it() {
    let pg = Postgres::start();
    let store = PgStore::open(&options(&pg, None)).await.unwrap();
    let (first, second) = (LinkId([11; 16]), LinkId([12; 16]));
    let group = burnlink_core::state::Group { content: first, members: vec![first, second] };
    let owner = Record { group: Some(group), ..record() };
    let mut up = store.upload(&first).await.unwrap();
    up.write(&random_payload(3 << 20, 11)).await.unwrap();
    up.commit(&owner).await.unwrap();
    assert!(store.insert(&second, &owner).await.unwrap());
    let ended = |r: &Record| Record { state: State::Revoked, ended_at: Some(Timestamp(1)), ..r.clone() };
    assert!(store.swap(&first, &owner, Some(&ended(&owner))).await.unwrap());
    assert_eq!(store.tidy().await.unwrap(), 0, "the second link still holds the content");
    assert_eq!(read(&store, &first, 0).await.unwrap().len(), 3 << 20);
    assert!(store.swap(&second, &owner, Some(&ended(&owner))).await.unwrap());
    assert_eq!(store.tidy().await.unwrap(), 1, "no link holds it any more");
    assert_eq!(count(&pg, "burnlink_contents") + count(&pg, "burnlink_pieces"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relays_starting_together_migrate_once_and_a_newer_schema_is_refused() {
    let pg = Postgres::start();
    let opts = options(&pg, None);
    let opens: Vec<_> = (0..6)
        .map(|_| {
            tokio::spawn({
                let opts = opts.clone();
                async move { PgStore::open(&opts).await.map(drop) }
            })
        })
        .collect();
    for o in opens {
        o.await.unwrap().unwrap();
    }
    assert_eq!(pg.psql("SELECT string_agg(version::text, ',' ORDER BY version) FROM burnlink_schema"), "1,2,3,4");
    pg.psql("INSERT INTO burnlink_schema VALUES (99, 0)");
    let err = PgStore::open(&opts).await.err().unwrap();
    assert!(err.to_string().contains("newer than this relay"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_upload_and_a_dead_relays_upload_leave_nothing() {
    let _s3 = S3.lock().await;
    let (pg, s3) = (Postgres::start(), Seaweed::start());
    let store = PgStore::open(&options(&pg, Some(&s3))).await.unwrap();
    // Dropped mid-way: it cleans up after itself.
    let mut up = store.upload(&LinkId([1; 16])).await.unwrap();
    up.write(&random_payload(6 << 20, 1)).await.unwrap();
    drop(up);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while count(&pg, "burnlink_contents") > 0 || !objects(&store).await.is_empty() {
        assert!(std::time::Instant::now() < deadline, "the abandoned upload was not cleaned up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A relay that died mid-upload cleans nothing; its row goes stale, and any relay's tidy removes it and its parts.
    let mut up = store.upload(&LinkId([2; 16])).await.unwrap();
    up.write(&random_payload(6 << 20, 2)).await.unwrap();
    // Its first segment stored (and counted): what a relay that died long ago left.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while pg.psql("SELECT segments FROM burnlink_contents") != "1" {
        assert!(std::time::Instant::now() < deadline, "the first segment never landed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    std::mem::forget(up);
    assert_eq!(store.tidy().await.unwrap(), 0, "a fresh upload in progress is left alone");
    pg.psql("UPDATE burnlink_contents SET touched = touched - 3600000");
    assert_eq!(store.tidy().await.unwrap(), 1);
    assert_eq!(count(&pg, "burnlink_contents") + count(&pg, "burnlink_doomed"), 0);
    assert!(objects(&store).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_s3_down_creates_fail_cleanly_and_a_sweep_afterwards_leaves_no_orphans() {
    let _s3 = S3.lock().await;
    let (pg, s3) = (Postgres::start(), Seaweed::start());
    let mut opts = options(&pg, Some(&s3));
    opts.deadline = Duration::from_secs(3);
    let store = PgStore::open(&opts).await.unwrap();
    let live = LinkId([9; 16]);
    put(&store, &live, &random_payload(6 << 20, 9)).await;
    // Mid-upload, the S3 server dies.
    let mut up = store.upload(&LinkId([1; 16])).await.unwrap();
    up.write(&random_payload(6 << 20, 1)).await.unwrap();
    s3.kill();
    let failed = async {
        up.write(&random_payload(6 << 20, 1)).await?;
        up.commit(&record()).await
    };
    // It fails, and `up` is gone with it.
    assert!(failed.await.is_err(), "a create with the S3 server down fails");
    // A new one fails too, and neither is visible.
    let mut up = store.upload(&LinkId([2; 16])).await.unwrap();
    let failed = async {
        up.write(&random_payload(6 << 20, 2)).await?;
        up.commit(&record()).await
    };
    assert!(failed.await.is_err(), "a new create with the S3 server down fails");
    assert!(
        store.get(&LinkId([1; 16])).await.unwrap().is_none() && store.get(&LinkId([2; 16])).await.unwrap().is_none()
    );
    // Back up: the live link reads whole, new links work, and a sweep leaves exactly the live objects.
    s3.up();
    // SeaweedFS answers 500 for a moment after it starts (its volumes still loading): wait until it serves reads.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let back = loop {
        let attempt = async {
            let mut s = store.open(&live, 0).await?.ok_or(StoreError::Lost)?;
            let mut v = Vec::new();
            while let Some(b) = s.next().await {
                v.extend_from_slice(&b?);
            }
            Ok::<_, StoreError>(v)
        };
        match attempt.await {
            Ok(v) => break v,
            Err(e) => {
                assert!(std::time::Instant::now() < deadline, "S3 did not come back: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    assert!(back == random_payload(6 << 20, 9), "the link made before the outage reads whole");
    let id = LinkId([3; 16]);
    put(&store, &id, &random_payload(6 << 20, 3)).await;
    pg.psql("UPDATE burnlink_contents SET touched = touched - 3600000 WHERE sealed_len IS NULL");
    pg.psql("UPDATE burnlink_doomed SET since = since - 3600000");
    store.tidy().await.unwrap();
    assert_eq!(contents_in_bucket(&store).await.len(), 2, "the two live links' objects, and nothing else");
    assert_eq!(count(&pg, "burnlink_contents"), 2);
    assert_eq!(count(&pg, "burnlink_doomed"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn under_serializable_isolation_conflicts_are_retried_and_each_race_has_one_winner() {
    // CockroachDB runs every transaction serializable: concurrent writers of one row get SQLSTATE 40001, which every
    // statement must retry. PostgreSQL set the same way shows it.
    let pg = Postgres::start();
    pg.psql("ALTER DATABASE postgres SET default_transaction_isolation = 'serializable'");
    let mut stores = Vec::new();
    for _ in 0..3 {
        stores.push(std::sync::Arc::new(PgStore::open(&options(&pg, None)).await.unwrap()));
    }
    for round in 0..40u8 {
        let id = LinkId([round; 16]);
        put(&stores[0], &id, b"x").await;
        let racers: Vec<_> = (0..16u8)
            .map(|i| {
                let store = stores[usize::from(i) % 3].clone();
                tokio::spawn(async move {
                    let old = record();
                    let mut new = old.clone();
                    new.failed_attempts = i + 1; // each racer's new record is its own
                    store.swap(&id, &old, Some(&new)).await.unwrap()
                })
            })
            .collect();
        let mut won = 0;
        for r in racers {
            won += usize::from(r.await.unwrap());
        }
        assert_eq!(won, 1, "round {round}: exactly one compare-and-set wins");
    }
    let retries: u64 = stores.iter().map(|s| s.stats().retries.load(std::sync::atomic::Ordering::Relaxed)).sum();
    assert!(retries > 0, "serialization failures happened and were retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_over_tls_is_verified_and_never_used_in_the_clear() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (cert_pem, key_pem) = (cert.cert.pem(), cert.key_pair.serialize_pem());
    let pg = Postgres::start_tls(&cert_pem, &key_pem);
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("db-ca.pem");
    std::fs::write(&ca, &cert_pem).unwrap();
    // By name, so the certificate's name is checked too.
    let url = |mode: &str| pg.url().replace("127.0.0.1", "localhost") + mode;
    let with = |url: String, ca: Option<std::path::PathBuf>| PgOptions {
        url,
        ca,
        deadline: Duration::from_secs(2),
        ..options(&pg, None)
    };
    // Trusted: it works, over TLS (the server refuses anything else).
    let store = PgStore::open(&with(url("?sslmode=require"), Some(ca.clone()))).await.unwrap();
    put(&store, &LinkId([1; 16]), b"over tls").await;
    assert_eq!(read(&store, &LinkId([1; 16]), 0).await.unwrap(), b"over tls");
    // Not trusted (only the web's roots): refused, with the reason.
    let err = PgStore::open(&with(url("?sslmode=require"), None)).await.err().unwrap();
    assert!(err.to_string().to_lowercase().contains("certificate"), "{err}");
    // Asking for no TLS: the server refuses it.
    assert!(PgStore::open(&with(url("?sslmode=disable"), Some(ca))).await.is_err());
}

fn live_record() -> Record {
    Record { uploading: true, ..record() }
}

/// Reads until `n` bytes arrived, the stream ended, or 20 s passed.
async fn read_n(s: &mut burnlink_relay::store::BlobStream, n: usize) -> Vec<u8> {
    let mut v = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while v.len() < n {
        match tokio::time::timeout_at(deadline, s.next()).await.expect("more bytes within 20 s") {
            Some(b) => v.extend_from_slice(&b.unwrap()),
            None => break,
        }
    }
    v
}

/// A live upload on relay `writer`, read behind it by a reader on the same relay (woken at each part) and one on
/// another relay (polling); nobody reaches the end before the record says the upload finished.
async fn live_round_trip(writer: &PgStore, elsewhere: &PgStore) {
    let id = LinkId([7; 16]);
    let data = random_payload((12 << 20) + 5, 7);
    let mut up = writer.upload(&id).await.unwrap();
    up.write(&data[..10_000]).await.unwrap();
    assert!(up.publish(&live_record()).await.unwrap(), "the PostgreSQL store serves live uploads");
    assert_eq!(elsewhere.get(&id).await.unwrap(), Some(live_record()), "visible to every relay at once");
    let mut here = writer.open(&id, 0).await.unwrap().expect("a live upload opens");
    let mut there = elsewhere.open(&id, 0).await.unwrap().expect("a live upload opens on another relay");
    up.write(&data[10_000..8 << 20]).await.unwrap();
    // A whole part reaches both readers while the upload still runs.
    let mut seen = [Vec::new(), Vec::new()];
    for (reader, seen) in [&mut here, &mut there].into_iter().zip(&mut seen) {
        *seen = read_n(reader, 1 << 20).await;
        assert!(seen.len() >= 1 << 20 && seen[..] == data[..seen.len()], "{} bytes", seen.len());
    }
    let mut late = elsewhere.open(&id, 123_457).await.unwrap().unwrap();
    up.write(&data[8 << 20..]).await.unwrap();
    let (size, release) = up.finish().await.unwrap();
    assert_eq!(size, data.len() as u64);
    for (reader, seen) in [&mut here, &mut there].into_iter().zip(&mut seen) {
        // Every whole chunk (the short last one opens once its end is known), then no end while the record
        // still says "uploading".
        let whole = data.len() - data.len() % 65_536;
        let rest = read_n(reader, whole - seen.len()).await;
        seen.extend_from_slice(&rest);
        assert!(seen[..] == data[..whole], "{} of {whole} bytes, all verified", seen.len());
        assert!(tokio::time::timeout(Duration::from_millis(300), reader.next()).await.is_err(), "no end yet");
    }
    let done = Record { uploading: false, size: data.len() as u64, ..live_record() };
    assert!(writer.swap(&id, &live_record(), Some(&done)).await.unwrap());
    release();
    for (reader, seen) in [&mut here, &mut there].into_iter().zip(&mut seen) {
        assert!(read_n(reader, usize::MAX).await[..] == data[seen.len()..], "the last chunk, then a clean end");
    }
    assert!(read_n(&mut late, usize::MAX).await[..] == data[123_457..]);
    assert!(read(elsewhere, &id, 9_999_999).await.unwrap() == data[9_999_999..], "stored as any other");
    elsewhere.erase(&id).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_upload_in_pieces_is_read_behind_its_writer_from_any_relay() {
    let pg = Postgres::start();
    let (writer, elsewhere) =
        (PgStore::open(&options(&pg, None)).await.unwrap(), PgStore::open(&options(&pg, None)).await.unwrap());
    live_round_trip(&writer, &elsewhere).await;
    assert_eq!(count(&pg, "burnlink_contents") + count(&pg, "burnlink_pieces"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_upload_in_s3_segments_is_read_behind_its_writer_from_any_relay() {
    let _s3 = S3.lock().await;
    let (pg, s3) = (Postgres::start(), Seaweed::start());
    let opts = options(&pg, Some(&s3));
    let (writer, elsewhere) = (PgStore::open(&opts).await.unwrap(), PgStore::open(&opts).await.unwrap());
    live_round_trip(&writer, &elsewhere).await;
    assert!(objects(&writer).await.is_empty(), "every segment deleted");
    assert_eq!(count(&pg, "burnlink_contents") + count(&pg, "burnlink_doomed"), 0);
}

/// The end of a stream: `None` (clean) or its error.
async fn end_of(s: &mut burnlink_relay::store::BlobStream) -> Option<std::io::Error> {
    loop {
        match tokio::time::timeout(Duration::from_secs(20), s.next()).await.expect("an end within 20 s") {
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Some(e),
            None => return None,
        }
    }
}

#[test]
fn a_live_upload_whose_relay_died_ends_its_readers_and_a_sweep_finds_it() {
    let _s3 = S3.blocking_lock();
    let (pg, s3) = (Postgres::start(), Seaweed::start());
    let opts = options(&pg, Some(&s3));
    let id = LinkId([8; 16]);
    // The writer's relay: it publishes, sends 11 MiB, and dies (its runtime stops: no heartbeat, no cleanup).
    let dying = tokio::runtime::Runtime::new().unwrap();
    dying.block_on(async {
        let store = PgStore::open(&opts).await.unwrap();
        let mut up = store.upload(&id).await.unwrap();
        up.write(&random_payload(6 << 20, 8)).await.unwrap();
        assert!(up.publish(&live_record()).await.unwrap());
        up.write(&random_payload(5 << 20, 9)).await.unwrap();
        std::mem::forget(up);
    });
    dying.shutdown_background();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let other = PgStore::open(&opts).await.unwrap();
        let mut reader = other.open(&id, 0).await.unwrap().unwrap();
        assert_eq!(read_n(&mut reader, 5 << 20).await.len(), 5 << 20, "what landed reads");
        assert!(tokio::time::timeout(Duration::from_millis(500), reader.next()).await.is_err(), "then it waits");
        assert_eq!(other.cut_off_uploads().await.unwrap(), vec![], "a quiet moment is not a dead relay");
        // The heartbeat's age passes the limit (as if 11 s went by with no relay refreshing it).
        pg.psql("UPDATE burnlink_contents SET touched = touched - 11000");
        let e = end_of(&mut reader).await.expect("an error, not a clean end");
        assert!(burnlink_relay::store::is_upload_ended(&e), "{e}");
        assert_eq!(other.cut_off_uploads().await.unwrap(), vec![id], "a sweep finds it");
        // The relay ends it as UPLOAD_FAILED, which erases it: nothing is left.
        other.erase(&id).await.unwrap();
        assert!(objects(&other).await.is_empty());
        assert_eq!(count(&pg, "burnlink_contents") + count(&pg, "burnlink_doomed"), 0);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_upload_erased_mid_way_stops_at_its_next_part_and_leaves_nothing() {
    let _s3 = S3.lock().await;
    let (pg, s3) = (Postgres::start(), Seaweed::start());
    let store = PgStore::open(&options(&pg, Some(&s3))).await.unwrap();
    let id = LinkId([9; 16]);
    let mut up = store.upload(&id).await.unwrap();
    up.write(&random_payload(6 << 20, 1)).await.unwrap();
    up.publish(&live_record()).await.unwrap();
    let mut reader = store.open(&id, 0).await.unwrap().unwrap();
    // Revoked: the content goes while a segment may still be in flight.
    store.erase(&id).await.unwrap();
    let e = end_of(&mut reader).await.expect("an error, not a clean end");
    assert!(burnlink_relay::store::is_upload_ended(&e) || e.to_string().contains("missing"), "{e}");
    let failed = async {
        up.write(&random_payload(11 << 20, 2)).await?;
        up.finish().await.map(drop)
    };
    assert!(matches!(failed.await, Err(burnlink_relay::store::StoreError::Lost)), "the upload stops");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !objects(&store).await.is_empty() {
        assert!(std::time::Instant::now() < deadline, "a segment outlived the erase: {:?}", objects(&store).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A deletion that met the segment still in flight is retried by a later sweep, as every failed deletion is.
    pg.psql("UPDATE burnlink_doomed SET since = since - 3600000");
    store.tidy().await.unwrap();
    assert_eq!((count(&pg, "burnlink_contents"), count(&pg, "burnlink_doomed")), (0, 0));
    assert!(objects(&store).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_contents_seal_algorithm_is_stored_and_decides_how_it_opens() {
    use burnlink_relay::store::seal::Algorithm;
    let pg = Postgres::start();
    let store = PgStore::open(&options(&pg, None)).await.unwrap();
    let (small, large) = (LinkId([1; 16]), LinkId([2; 16]));
    put(&store, &small, b"short").await;
    put(&store, &large, &random_payload(3 << 20, 2)).await;
    let preferred = Algorithm::preferred().byte();
    assert_eq!(pg.psql("SELECT string_agg(DISTINCT seal::text, ',') FROM burnlink_contents"), preferred.to_string());
    // Marked with the other algorithm, the same bytes no longer authenticate: the mark is what opens them.
    let other = 1 - preferred;
    pg.psql(&format!("UPDATE burnlink_contents SET seal = {other}"));
    for id in [small, large] {
        let opened = match store.open(&id, 0).await {
            Err(e) => Err(e.to_string()),
            Ok(s) => {
                let mut s = s.unwrap();
                let mut res = Ok(());
                while let Some(b) = s.next().await {
                    if let Err(e) = b {
                        res = Err(e.to_string());
                        break;
                    }
                }
                res
            }
        };
        assert!(opened.is_err(), "content marked with the wrong algorithm opened");
    }
    pg.psql(&format!("UPDATE burnlink_contents SET seal = {preferred}"));
    assert!(read(&store, &large, 0).await.unwrap() == random_payload(3 << 20, 2));
    assert_eq!(read(&store, &small, 0).await.unwrap(), b"short");
}
