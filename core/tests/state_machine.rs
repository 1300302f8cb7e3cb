//! Random event sequences on a virtual clock against the relay state machine, checking the invariants the relay's
//! promises rest on: at most one claim ever wins, only its lease holder is served, end states are final, content is
//! dropped exactly once, wrong proofs burn only at the tenth, a claim without the holder proof changes nothing, and a
//! lease only ever grows, never past its span after the claim. Live links (created while their upload runs) add: no
//! ack before the upload is stored, and only a live upload can fail.

use std::time::Duration;

use burnlink_core::keys::{
    ClaimKey, Digest32, HolderProof, KdfParams, LeaseToken, ManageToken, PublicMeta, SecretCheck,
};
use burnlink_core::proto::{CreateRequest, Response};
use burnlink_core::state::{
    step, Claimer, ClientKind, Event, Record, State, StateKind, Timestamp, DEFAULT_LEASE, MAX_FAILED_PROOFS,
    MAX_LEASE_SPAN,
};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Peek,
    /// (holds the link, right claim key)
    Claim(bool, bool),
    /// A claim folded into a peek: (holds the link, right claim key).
    ClaimPlain(bool, bool),
    Resume(bool, u64),
    Extend(bool),
    Ack(bool),
    Status(bool),
    Revoke(bool),
    Tick,
    Uploaded(u64),
    UploadFailed,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Peek),
        (prop::bool::weighted(0.8), any::<bool>()).prop_map(|(h, k)| Op::Claim(h, k)),
        (prop::bool::weighted(0.8), any::<bool>()).prop_map(|(h, k)| Op::ClaimPlain(h, k)),
        (any::<bool>(), 0u64..1200).prop_map(|(a, b)| Op::Resume(a, b)),
        any::<bool>().prop_map(Op::Extend),
        any::<bool>().prop_map(Op::Ack),
        any::<bool>().prop_map(Op::Status),
        prop::bool::weighted(0.1).prop_map(Op::Revoke),
        Just(Op::Tick),
        (0u64..2000).prop_map(Op::Uploaded),
        prop::bool::weighted(0.1).prop_map(|_| Op::UploadFailed),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
    #[test]
    fn invariants_hold(ops in prop::collection::vec((0u64..400_000, op()), 1..60), ttl in 300u32..3000, live in any::<bool>(), with_pass in any::<bool>()) {
        let claim = ClaimKey::from_bytes([1; 32]);
        let wrong_claim = ClaimKey::from_bytes([2; 32]);
        let manage = ManageToken::from_bytes([3; 32]);
        let wrong_manage = ManageToken::from_bytes([4; 32]);
        let wrong_lease = LeaseToken::from_bytes([5; 32]);
        let holder = HolderProof::from_bytes([6; 32]);
        let stranger = HolderProof::from_bytes([7; 32]);
        let req = CreateRequest {
            ttl_secs: ttl,
            claim_hash: claim.digest(),
            holder_hash: holder.digest(),
            manage_hash: manage.digest(),
            meta: PublicMeta {
                check: SecretCheck([0; 16]),
                kdf: with_pass.then_some(KdfParams { salt: [1; 16], m_kib: 65536, t: 3, p: 4 }),
            },
            live: None,
            rules: Default::default(), extra: Vec::new(), answer: None,
        };
        let mut now = Timestamp(1_700_000_000_000);
        let mut rec = Some(if live { Record::new_live(&req, 1000, now) } else { Record::new(&req, 1000, now) }.unwrap());
        let mut lease: Option<LeaseToken> = None;
        let mut wins = 0;
        let mut drops = 0;
        let mut ended: Option<StateKind> = None;
        let mut lease_seq = 0u8;

        for (dt, op) in ops {
            now = Timestamp(now.0 + dt);
            lease_seq = lease_seq.wrapping_add(1);
            let fresh_lease = LeaseToken::from_bytes([100u8.wrapping_add(lease_seq); 32]);
            let held = lease.clone().unwrap_or_else(|| wrong_lease.clone());
            let ev = match &op {
                Op::Peek => Event::Peek,
                Op::Claim(holds, right) => Event::Claim {
                    holder: if *holds { &holder } else { &stranger },
                    key: if *right { &claim } else { &wrong_claim },
                    lease: &fresh_lease,
                    lease_ttl: DEFAULT_LEASE,
                    by: Claimer { via: Some(ClientKind::Cli), from: None },
                },
                Op::ClaimPlain(holds, right) => Event::ClaimPlain {
                    holder: if *holds { &holder } else { &stranger },
                    key: if *right { &claim } else { &wrong_claim },
                    lease: &fresh_lease,
                    lease_ttl: DEFAULT_LEASE,
                    by: Claimer { via: Some(ClientKind::Cli), from: None },
                },
                Op::Resume(right, off) => Event::Resume {
                    lease: if *right { &held } else { &wrong_lease },
                    offset: *off,
                    lease_ttl: DEFAULT_LEASE,
                },
                Op::Extend(right) => Event::Extend {
                    lease: if *right { &held } else { &wrong_lease },
                    served: 0,
                    lease_ttl: DEFAULT_LEASE,
                },
                Op::Ack(right) => Event::Ack { lease: if *right { &held } else { &wrong_lease } },
                Op::Status(right) => Event::Status { manage: if *right { &manage } else { &wrong_manage } },
                Op::Revoke(right) => Event::Revoke { manage: if *right { &manage } else { &wrong_manage } },
                Op::Tick => Event::Tick,
                Op::Uploaded(size) => Event::Uploaded { size: *size },
                Op::UploadFailed => Event::UploadFailed,
            };
            let before = rec.clone();
            let out = step(rec.as_ref(), now, ev);
            let was_uploading = before.as_ref().is_some_and(|b| b.uploading);
            if matches!(out.reply, Response::Acked) {
                prop_assert!(!was_uploading, "acked before the upload was stored");
            }
            if let Some(next) = &out.next {
                if next.state.kind() == StateKind::UploadFailed {
                    prop_assert!(was_uploading || before.as_ref().is_some_and(|b| b.state.kind() == StateKind::UploadFailed),
                        "a link that was not uploading failed its upload");
                }
                prop_assert!(!next.uploading || was_uploading, "a stored link went back to uploading");
                prop_assert!(!next.uploading || next.state.kind().holds_content(), "an ended link still uploading");
            }
            if let Response::Claimed { lease: l, .. } = &out.reply {
                wins += 1;
                let right = matches!(op, Op::Claim(true, true)) || (!with_pass && matches!(op, Op::ClaimPlain(true, true)));
                prop_assert!(right, "claim won without the holder proof and the key, or plain on a passphrase link");
                lease = Some(l.clone());
            }
            if out.serve_from.is_some() {
                let serving = matches!(out.reply, Response::Claimed { .. } | Response::Resumed { .. });
                prop_assert!(serving, "served bytes with {:?}", out.reply);
                let holder = matches!(op, Op::Claim(true, true) | Op::ClaimPlain(true, true) | Op::Resume(true, _));
                prop_assert!(holder, "served a non-holder: {:?}", op);
            }
            if !matches!(op, Op::Status(true) | Op::Revoke(true)) {
                // Non-senders only ever see the neutral answers, never the state of a non-fresh link.
                let leaked = matches!(out.reply, Response::Status(_));
                prop_assert!(!leaked, "status leaked to {:?}", op);
            }
            if out.drop_content {
                drops += 1;
                let emptied = out.next.as_ref().map(|r| !r.state.kind().holds_content()).unwrap_or(false);
                prop_assert!(emptied, "dropped content but kept a content state");
            }
            if let (Op::ClaimPlain(_, _), true, Some(b), Some(next)) = (&op, with_pass, &before, &out.next) {
                // On a passphrase link a plain claim only peeks: only time may have changed the record.
                prop_assert_eq!(next.failed_attempts, b.failed_attempts, "a plain claim counted an attempt");
            }
            if let (Op::Claim(false, _) | Op::ClaimPlain(false, _), Some(b), Some(next)) = (&op, &before, &out.next) {
                // Only time may have changed the record (expiry, lease end): never the stranger's claim.
                prop_assert_eq!(next.failed_attempts, b.failed_attempts, "a stranger's claim was counted");
                prop_assert!(!matches!(next.state.kind(), StateKind::Claimed | StateKind::BurnedByAttempts)
                    || next.state.kind() == b.state.kind(), "a stranger's claim changed the state");
            }
            if let Some(next) = out.next {
                if let Some(k) = ended {
                    prop_assert_eq!(next.state.kind(), k, "an end state changed");
                }
                prop_assert!(next.failed_attempts <= MAX_FAILED_PROOFS);
                if next.state.kind() == StateKind::BurnedByAttempts {
                    prop_assert_eq!(next.failed_attempts, MAX_FAILED_PROOFS);
                }
                if let (State::Claimed { until, .. }, Some(at)) = (next.state, next.claimed_at) {
                    prop_assert!(until <= at.plus(MAX_LEASE_SPAN), "a lease ran past its span");
                    if let Some(State::Claimed { until: was, .. }) = before.as_ref().map(|b| b.state) {
                        prop_assert!(until >= was, "a lease was shortened");
                    }
                }
                if !next.state.kind().holds_content() {
                    ended.get_or_insert(next.state.kind());
                }
                if let (Some(b), StateKind::Fresh) = (&before, next.state.kind()) {
                    prop_assert_eq!(b.state.kind(), StateKind::Fresh, "went back to fresh");
                }
                rec = Some(next);
            }
            if out.purge {
                prop_assert!(ended.is_some());
                rec = None;
            }
        }
        prop_assert!(wins <= 1, "{} claims won", wins);
        prop_assert!(drops <= 1, "content dropped {} times", drops);
        prop_assert_eq!(drops == 1, ended.is_some());
    }
}

#[test]
fn lease_outlives_expiry_of_the_link() {
    // A claim just before expiry keeps its full lease: the rightful recipient is not cut off by the link's TTL.
    let claim = ClaimKey::from_bytes([1; 32]);
    let holder = HolderProof::from_bytes([2; 32]);
    let req = CreateRequest {
        ttl_secs: 300,
        claim_hash: claim.digest(),
        holder_hash: holder.digest(),
        manage_hash: Digest32([0; 32]),
        meta: PublicMeta { check: SecretCheck([0; 16]), kdf: None },
        live: None,
        rules: Default::default(),
        extra: Vec::new(),
        answer: None,
    };
    let t0 = Timestamp(0);
    let rec = Record::new(&req, 10, t0).unwrap();
    let lease = LeaseToken::from_bytes([9; 32]);
    let just_before = Timestamp(rec.expires_at.0 - 1);
    let claimed = step(
        Some(&rec),
        just_before,
        Event::Claim { holder: &holder, key: &claim, lease: &lease, lease_ttl: DEFAULT_LEASE, by: Claimer::default() },
    )
    .next
    .unwrap();
    let later = just_before.plus(Duration::from_secs(60));
    let out = step(Some(&claimed), later, Event::Resume { lease: &lease, offset: 5, lease_ttl: DEFAULT_LEASE });
    assert!(matches!(out.reply, Response::Resumed { offset: 5, size: 10, live: false }), "{:?}", out.reply);
}
