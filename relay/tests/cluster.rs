//! Three relay processes (the real binary) on one PostgreSQL database and one S3 bucket behave as one relay: the burn
//! is still won once, a lease outlives the relay that granted it, acknowledged work survives the database restarting,
//! the sweepers share expiry without doing it twice, and a sender can watch through any relay.
//!
//! Needs the binaries built (`cargo build --workspace --bins`, as `scripts/test` does) and the servers that
//! `scripts/install-deps` installs. The tests share one S3 server and check what its bucket holds, so they run one
//! at a time.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use burnlink_client::transport::Claim;
use burnlink_client::{RelayClient, Trust};
use burnlink_core::link::LinkId;
use burnlink_core::state::StateKind;
use burnlink_e2e::Relay;
use common::{create_request, link_keys, random_payload, read_body};
use tokio::io::AsyncReadExt;

mod common;

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Limits opened up: the load all comes from one address.
const OPEN: &[&str] = &["--rate", "0", "--create-rate", "0", "--max-conns-per-ip", "10000", "--bytes-per-hour", "0"];

async fn client(r: &Relay, i: usize) -> RelayClient {
    let trust = Trust::from_pem_file(&r.ca).unwrap();
    let addr = r.cluster.as_ref().unwrap().relays[i].parse().unwrap();
    RelayClient::connect_addr(addr, "localhost", &trust).await.unwrap()
}

/// Object deletions the relays logged, by object name.
fn deletions(r: &Relay) -> Vec<String> {
    r.logs()
        .lines()
        .filter(|l| l.contains("deleted an object"))
        .map(|l| {
            // The object's name, `burnlink/` and 32 hex digits, wherever the log's formatting puts it.
            let at = l.find("burnlink/").expect("the deletion names its object");
            l[at..at + 41].to_owned()
        })
        .collect()
}

/// What the bucket holds.
async fn bucket(r: &Relay) -> Vec<String> {
    let cluster = r.cluster.as_ref().unwrap();
    std::env::set_var("AWS_ACCESS_KEY_ID", burnlink_e2e::servers::S3_KEY.0);
    std::env::set_var("AWS_SECRET_ACCESS_KEY", burnlink_e2e::servers::S3_KEY.1);
    let opts = burnlink_relay::store::PgOptions {
        url: cluster.pg.url(),
        blobs: Some(cluster.s3.blobs_url().parse().unwrap()),
        inline_threshold: 0,
        deadline: Duration::from_secs(10),
        pool_size: 1,
        ca: None,
    };
    let store = burnlink_relay::store::PgStore::open(&opts).await.unwrap();
    store.blobs().unwrap().list().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_claimers_over_three_relays_one_winner_per_link_for_a_thousand_links() {
    let _one = ONE_AT_A_TIME.lock().await;
    let r = Relay::start_cluster(OPEN);
    let mut clients = Vec::new();
    for j in 0..16 {
        clients.push(Arc::new(client(&r, j % 3).await));
    }
    const LINKS: u64 = 1000;
    let gone = Arc::new(AtomicUsize::new(0));
    let next = Arc::new(AtomicUsize::new(0));
    // Eight links race at a time; each link's 16 claims start together.
    let mut workers = Vec::new();
    for w in 0..8 {
        let (clients, gone, next) = (clients.clone(), gone.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed) as u64;
                if n >= LINKS {
                    break;
                }
                // Every 50th link is above the inline threshold: its content is an S3 object.
                let data = random_payload(if n % 50 == 0 { 300_000 } else { 1024 }, n);
                let k = link_keys(n);
                let creator = &clients[(w + n as usize) % 16];
                let (id, _) = creator.create(create_request(&k, 3600), &data[..], &|_| {}).await.unwrap();
                let claims: Vec<_> = clients
                    .iter()
                    .map(|c| {
                        let (c, holder, key) = (c.clone(), k.holder.clone(), k.claim.clone());
                        tokio::spawn(async move {
                            match c.claim(id, holder, key).await.unwrap() {
                                Claim::Won { lease, body, .. } => {
                                    let got = read_body(body).await;
                                    assert!(c.ack(id, lease).await.unwrap());
                                    Some(got)
                                }
                                Claim::Gone => None,
                                Claim::WrongProof { .. } => panic!("a right proof was refused"),
                            }
                        })
                    })
                    .collect();
                let mut winners = 0;
                for c in claims {
                    match c.await.unwrap() {
                        Some(got) => {
                            winners += 1;
                            assert!(got == data, "link {n}: the winner's bytes are incomplete or wrong");
                        }
                        None => {
                            gone.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                assert_eq!(winners, 1, "link {n}: exactly one claim wins");
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    assert_eq!(gone.load(Ordering::Relaxed), 15 * LINKS as usize, "every loser heard the neutral gone");
    // Every consumed link's object was deleted, once.
    let deleted = deletions(&r);
    assert_eq!(deleted.len(), (LINKS / 50) as usize, "{deleted:?}");
    let mut distinct = deleted.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), deleted.len(), "no object is deleted twice");
    assert!(bucket(&r).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_killed_mid_download_the_recipient_resumes_through_another_and_a_thief_gets_gone() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut r = Relay::start_cluster(OPEN);
    let k = link_keys(1);
    let data = random_payload(24 << 20, 1);
    let sender = client(&r, 2).await;
    let (id, _) = sender.create(create_request(&k, 3600), &data[..], &|_| {}).await.unwrap();

    let recipient = client(&r, 0).await;
    let Claim::Won { lease, body, .. } = recipient.claim(id, k.holder.clone(), k.claim.clone()).await.unwrap() else {
        panic!("the recipient's claim wins")
    };
    let mut reader = body.into_reader();
    let mut got = vec![0u8; 3 << 20];
    reader.read_exact(&mut got).await.unwrap();
    r.kill_one(0); // the relay serving the download dies
    let mut rest = Vec::new();
    assert!(reader.read_to_end(&mut rest).await.is_err(), "the download through the dead relay breaks");
    got.extend_from_slice(&rest);

    // A thief with the whole link, through either live relay: gone.
    for i in [1, 2] {
        let thief = client(&r, i).await;
        assert!(matches!(thief.claim(id, k.holder.clone(), k.claim.clone()).await.unwrap(), Claim::Gone));
    }
    // The recipient resumes with its lease through another relay, from where it stopped.
    let other = client(&r, 1).await;
    let body = other.resume(id, lease.clone(), got.len() as u64).await.unwrap().expect("the lease resumes");
    got.extend_from_slice(&read_body(body).await);
    assert!(got == data, "the resumed download is whole");
    assert!(client(&r, 2).await.ack(id, lease.clone()).await.unwrap(), "and acks through a third");
    assert!(other.resume(id, lease, 0).await.unwrap().is_none(), "after the ack the lease is over");
    assert_eq!(sender.status(id, k.manage.clone()).await.unwrap().unwrap().state, StateKind::Consumed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_watches_through_one_relay_while_the_recipient_opens_through_another() {
    let _one = ONE_AT_A_TIME.lock().await;
    let r = Relay::start_cluster(OPEN);
    let k = link_keys(2);
    let data = random_payload(1000, 2);
    let (id, _) = client(&r, 0).await.create(create_request(&k, 3600), &data[..], &|_| {}).await.unwrap();
    let watcher = client(&r, 1).await;
    let mut watch = watcher.watch(id, k.manage.clone()).await.unwrap();
    assert_eq!(watch.next().await.unwrap().unwrap().state, StateKind::Fresh);
    let opened = Instant::now();
    let recipient = client(&r, 2).await;
    let Claim::Won { lease, body, .. } = recipient.claim(id, k.holder.clone(), k.claim.clone()).await.unwrap() else {
        panic!("claim")
    };
    assert!(read_body(body).await == data);
    assert!(recipient.ack(id, lease).await.unwrap());
    let mut seen = Vec::new();
    while let Some(s) = tokio::time::timeout(Duration::from_secs(10), watch.next()).await.unwrap().unwrap() {
        seen.push(s.state);
    }
    assert_eq!(seen.last(), Some(&StateKind::Consumed), "{seen:?}");
    assert!(opened.elapsed() < Duration::from_secs(5), "the watcher heard within a poll or two");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_with_three_sweepers_deletes_each_object_once_and_empties_the_bucket() {
    let _one = ONE_AT_A_TIME.lock().await;
    let r = Relay::start_cluster(OPEN);
    let mut links = Vec::new();
    for n in 0..30u64 {
        let k = link_keys(100 + n);
        let c = client(&r, n as usize % 3).await;
        let (id, _) = c.create(create_request(&k, 300), &random_payload(300_000, n)[..], &|_| {}).await.unwrap();
        links.push((id, k));
    }
    assert_eq!(bucket(&r).await.len(), 30);
    r.advance_clock(6 * 60); // every relay reads the same clock file
    let c = client(&r, 0).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut expired = 0;
        for (id, k) in &links {
            if c.status(*id, k.manage.clone()).await.unwrap().unwrap().state == StateKind::Expired {
                expired += 1;
            }
        }
        if expired == links.len() && deletions(&r).len() == links.len() {
            break;
        }
        assert!(Instant::now() < deadline, "{expired} of {} expired in time", links.len());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let deleted = deletions(&r);
    let mut distinct = deleted.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!((deleted.len(), distinct.len()), (30, 30), "each object deleted exactly once: {deleted:?}");
    assert!(bucket(&r).await.is_empty());
    for (id, k) in &links {
        assert!(matches!(c.claim(*id, k.holder.clone(), k.claim.clone()).await.unwrap(), Claim::Gone));
    }
}

/// Creates, claims and acks in a loop through all three relays until `stop`; returns what was acknowledged: links
/// created (and not burned) with their content, and links whose burn was acknowledged.
async fn load(
    clients: Vec<RelayClient>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> (Vec<(LinkId, u64)>, Vec<(LinkId, u64)>) {
    let mut tasks = Vec::new();
    for (w, c) in clients.into_iter().enumerate() {
        let w = w as u64;
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let (mut live, mut burned) = (Vec::new(), Vec::new());
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let seed = w * 1_000_000 + n;
                let k = link_keys(seed);
                let Ok((id, _)) = c.create(create_request(&k, 3600), &random_payload(2000, seed)[..], &|_| {}).await
                else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                // Every other link is burned; the rest stay, acknowledged as created.
                if n % 2 == 0 {
                    live.push((id, seed));
                    continue;
                }
                match c.claim(id, k.holder.clone(), k.claim.clone()).await {
                    Ok(Claim::Won { lease, body, .. }) => {
                        let mut v = Vec::new();
                        if body.into_reader().read_to_end(&mut v).await.is_ok()
                            && matches!(c.ack(id, lease).await, Ok(true))
                        {
                            burned.push((id, seed));
                        }
                    }
                    _ => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
            (live, burned)
        }));
    }
    let (mut live, mut burned) = (Vec::new(), Vec::new());
    for t in tasks {
        let (l, b) = t.await.unwrap();
        live.extend(l);
        burned.extend(b);
    }
    (live, burned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_restarts_under_load_fast_and_immediate_and_nothing_acknowledged_is_lost_or_undone() {
    let _one = ONE_AT_A_TIME.lock().await;
    let r = Relay::start_cluster(OPEN);
    let pg = &r.cluster.as_ref().unwrap().pg;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // The load runs on six clients spread over the relays while the database goes down and up twice.
    let mut clients = Vec::new();
    for i in 0..6 {
        clients.push(client(&r, i % 3).await);
    }
    let load_task = tokio::spawn(load(clients, stop.clone()));
    tokio::time::sleep(Duration::from_secs(2)).await;
    pg.stop_fast();
    tokio::time::sleep(Duration::from_secs(1)).await;
    pg.up();
    tokio::time::sleep(Duration::from_secs(2)).await;
    pg.stop_immediate();
    tokio::time::sleep(Duration::from_secs(1)).await;
    pg.up();
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    let (live, burned) = load_task.await.unwrap();
    assert!(live.len() > 20 && burned.len() > 20, "the load ran: {} live, {} burned", live.len(), burned.len());
    // The relays reconnected by themselves: every acknowledged link opens, whole, through any relay; every
    // acknowledged burn stays burned.
    let c = client(&r, 1).await;
    for (id, seed) in &live {
        let k = link_keys(*seed);
        let Claim::Won { lease, body, .. } = c.claim(*id, k.holder.clone(), k.claim.clone()).await.unwrap() else {
            panic!("an acknowledged link was lost")
        };
        assert!(read_body(body).await == random_payload(2000, *seed));
        assert!(c.ack(*id, lease).await.unwrap());
    }
    for (id, seed) in &burned {
        let k = link_keys(*seed);
        assert!(matches!(c.claim(*id, k.holder.clone(), k.claim.clone()).await.unwrap(), Claim::Gone));
        assert_eq!(c.status(*id, k.manage.clone()).await.unwrap().unwrap().state, StateKind::Consumed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_s3_down_large_creates_fail_cleanly_nothing_burns_and_afterwards_no_orphans_remain() {
    let _one = ONE_AT_A_TIME.lock().await;
    let r = Relay::start_cluster(OPEN);
    let cluster = r.cluster.as_ref().unwrap();
    let (k, data) = (link_keys(7), random_payload(2 << 20, 7));
    let (live, _) = client(&r, 0).await.create(create_request(&k, 3600), &data[..], &|_| {}).await.unwrap();

    cluster.s3.kill();
    // A large create fails with a clear answer and leaves no link; a small one (kept in the database) still works.
    let big =
        client(&r, 1).await.create(create_request(&link_keys(8), 3600), &random_payload(2 << 20, 8)[..], &|_| {}).await;
    let err = big.expect_err("a large create with S3 down fails").to_string();
    assert!(err.contains("storage is not responding") || err.contains("nothing changed"), "{err}");
    let small = link_keys(9);
    let c2 = client(&r, 2).await;
    let (id, _) = c2.create(create_request(&small, 3600), &random_payload(1000, 9)[..], &|_| {}).await.unwrap();
    let Claim::Won { lease, body, .. } = c2.claim(id, small.holder.clone(), small.claim.clone()).await.unwrap() else {
        panic!("a small link works while S3 is down")
    };
    assert!(read_body(body).await == random_payload(1000, 9));
    assert!(c2.ack(id, lease).await.unwrap());
    // The large link cannot be delivered now, so its claim fails without burning it.
    assert!(client(&r, 0).await.claim(live, k.holder.clone(), k.claim.clone()).await.is_err());
    let c0 = client(&r, 0).await;
    assert_eq!(c0.status(live, k.manage.clone()).await.unwrap().unwrap().state, StateKind::Fresh);

    cluster.s3.up();
    let deadline = Instant::now() + Duration::from_secs(60);
    let won = loop {
        match c0.claim(live, k.holder.clone(), k.claim.clone()).await {
            Ok(Claim::Won { lease, body, .. }) => break (lease, read_body(body).await),
            Ok(other) => panic!("the link must still be there: {}", matches!(other, Claim::Gone)),
            Err(_) => {
                assert!(Instant::now() < deadline, "S3 did not come back");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    };
    assert!(won.1 == data, "the link made before the outage opens whole");
    assert!(c0.ack(live, won.0).await.unwrap());
    let after = link_keys(10);
    let (fresh, _) = client(&r, 1)
        .await
        .create(create_request(&after, 3600), &random_payload(2 << 20, 10)[..], &|_| {})
        .await
        .unwrap();

    // What the failed create left (its content row, its doomed object) is old enough for a sweep: every relay sweeps
    // each second, and afterwards the bucket holds the one live link's object and nothing else.
    cluster.pg.psql("UPDATE burnlink_contents SET touched = touched - 3600000 WHERE sealed_len IS NULL");
    cluster.pg.psql("UPDATE burnlink_doomed SET since = since - 3600000");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left =
            cluster.pg.psql("SELECT (SELECT count(*) FROM burnlink_doomed) + (SELECT count(*) FROM burnlink_contents)");
        if left == "1" && bucket(&r).await.len() == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "orphans remain: {left} rows, {:?}", bucket(&r).await);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let Claim::Won { body, .. } = c0.claim(fresh, after.holder.clone(), after.claim.clone()).await.unwrap() else {
        panic!("the link made after the outage opens")
    };
    assert!(read_body(body).await == random_payload(2 << 20, 10));
}
