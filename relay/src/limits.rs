/*!
What keeps a flood, a crowd behind one address or a full disk from taking the relay down.

- **Address groups.** Limits apply to an IPv4 address, or to an IPv6 /64 (one customer's prefix: handing out more
  addresses within it costs an attacker nothing). IPv4-mapped IPv6 addresses count as their IPv4 address.
- **Budgets** per group, as token buckets: requests that read or claim (peek, claim, resume), creates, and stored
  bytes. An empty bucket is answered with how long to wait ([`Wait`]), which clients honour; nothing is refused
  outright, so an honest fan-out of clients behind one address slows down at worst.
- **Connections** per group: only live ones count; a [`ConnSlot`] gives its place back when its connection ends.
- **Storage**: a total cap on stored bytes and a reserve of free space on the disk the store writes to. Past either
  an upload is refused as "relay full" before the disk fills, so burns, expiry and the sweeper, which need a little
  room to write their records, always have it, and free space as they go.

The buckets forget idle groups, so an attacker spraying addresses cannot grow them without bound. Nothing here is
persisted or logged: it holds addresses only in memory, for as long as their buckets are not full.
*/

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The unit limits apply to: an IPv4 address or an IPv6 /64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Group(IpAddr);

impl Group {
    /// The group of `ip`.
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => Self(ip),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(IpAddr::V4(v4)),
                None => {
                    let s = v6.segments();
                    Self(IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0)))
                }
            },
        }
    }
}

/// How long to wait before trying again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait(pub Duration);

/// Token buckets per key: `rate` tokens a second up to `burst`.
pub struct Buckets<K> {
    rate: f64,
    burst: f64,
    map: Mutex<HashMap<K, (f64, Instant)>>,
}

/// Groups tracked before full, idle buckets are forgotten.
const MAX_TRACKED: usize = 100_000;

impl<K: Hash + Eq + Copy> Buckets<K> {
    /// Buckets of `burst` tokens refilled at `rate` a second; a rate of 0 means no limit.
    pub fn new(rate: f64, burst: f64) -> Self {
        Self { rate, burst: burst.max(1.0), map: Mutex::new(HashMap::new()) }
    }

    fn with<T>(&self, key: K, f: impl FnOnce(&mut f64) -> T) -> T {
        let mut m = self.map.lock().expect("bucket lock");
        let now = Instant::now();
        if m.len() > MAX_TRACKED {
            let (rate, burst) = (self.rate, self.burst);
            m.retain(|_, (tokens, t)| *tokens + now.duration_since(*t).as_secs_f64() * rate < burst);
        }
        let (tokens, last) = m.entry(key).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.rate).min(self.burst);
        *last = now;
        f(tokens)
    }

    fn wait_for(&self, missing: f64) -> Wait {
        Wait(Duration::from_secs_f64((missing / self.rate).clamp(0.05, 60.0)))
    }

    /// Takes `n` tokens, or says how long until they are there.
    pub fn take(&self, key: K, n: f64) -> Result<(), Wait> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        self.with(key, |tokens| {
            if *tokens >= n {
                *tokens -= n;
                Ok(())
            } else {
                Err(n - *tokens)
            }
        })
        .map_err(|missing| self.wait_for(missing))
    }

    /// Whether the bucket has anything left (it may be in debt after [`Buckets::charge`]).
    pub fn check(&self, key: K) -> Result<(), Wait> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        self.with(key, |tokens| if *tokens > 0.0 { Ok(()) } else { Err(1.0 - *tokens) })
            .map_err(|missing| self.wait_for(missing))
    }

    /// Takes `n` tokens even if that leaves the bucket in debt (bytes already on their way).
    pub fn charge(&self, key: K, n: f64) {
        if self.rate > 0.0 {
            self.with(key, |tokens| *tokens -= n);
        }
    }
}

/// Live connections per group.
#[derive(Default)]
pub struct Conns {
    counts: Mutex<HashMap<Group, usize>>,
}

/// One admitted connection; dropping it frees the place.
pub struct ConnSlot {
    conns: Arc<Conns>,
    group: Group,
}

impl Conns {
    /// Admits one more connection of `group` unless it has `max` live ones.
    pub fn admit(self: &Arc<Self>, group: Group, max: usize) -> Option<ConnSlot> {
        let mut c = self.counts.lock().expect("conn lock");
        let n = c.entry(group).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(ConnSlot { conns: self.clone(), group })
    }
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        let mut c = self.conns.counts.lock().expect("conn lock");
        if let Some(n) = c.get_mut(&self.group) {
            *n -= 1;
            if *n == 0 {
                c.remove(&self.group);
            }
        }
    }
}

/// Bytes stored and being uploaded, against the cap and the disk's reserve.
#[derive(Debug, Default)]
pub struct Space {
    stored: AtomicU64,
    incoming: AtomicU64,
}

/// Why an upload cannot take more bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Full {
    /// The relay's storage cap is reached.
    Cap,
    /// The disk's free space is down to the reserve.
    Disk,
}

impl Space {
    /// Bytes of content stored now.
    pub fn stored(&self) -> u64 {
        self.stored.load(Ordering::Relaxed)
    }

    /// Counts content found at start-up or committed.
    pub fn add_stored(&self, n: u64) {
        self.stored.fetch_add(n, Ordering::Relaxed);
    }

    /// Sets the count from a shared store's own total (several relays store into one database).
    pub fn set_stored(&self, n: u64) {
        self.stored.store(n, Ordering::Relaxed);
    }

    /// Content erased.
    pub fn remove_stored(&self, n: u64) {
        let _ = self.stored.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| Some(s.saturating_sub(n)));
    }

    /// Reserves `n` more bytes for an upload in progress, unless that would pass `cap` (0: none) or leave less than
    /// `reserve` free of `available` (the disk's free bytes, if the store knows them).
    pub fn reserve(&self, n: u64, cap: u64, reserve: u64, available: Option<u64>) -> Result<(), Full> {
        if available.is_some_and(|free| free < reserve.saturating_add(n)) {
            return Err(Full::Disk);
        }
        let incoming = self.incoming.fetch_add(n, Ordering::Relaxed) + n;
        if cap > 0 && self.stored().saturating_add(incoming) > cap {
            self.incoming.fetch_sub(n, Ordering::Relaxed);
            return Err(Full::Cap);
        }
        Ok(())
    }

    /// Whether `n` more bytes would fit now, reserving nothing: a live upload's announced size is checked before its
    /// link is shown, so a link is never printed for an upload the relay already knows it will refuse.
    pub fn fits(&self, n: u64, cap: u64, reserve: u64, available: Option<u64>) -> Result<(), Full> {
        if available.is_some_and(|free| free < reserve.saturating_add(n)) {
            return Err(Full::Disk);
        }
        let incoming = self.incoming.load(Ordering::Relaxed).saturating_add(n);
        if cap > 0 && self.stored().saturating_add(incoming) > cap {
            return Err(Full::Cap);
        }
        Ok(())
    }

    /// An upload of `n` reserved bytes ended: stored if `committed`, else given back.
    pub fn settle(&self, n: u64, committed: bool) {
        self.incoming.fetch_sub(n, Ordering::Relaxed);
        if committed {
            self.add_stored(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_groups_by_64_and_mapped_v4_is_v4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(Group::of(a), Group::of(b));
        assert_ne!(Group::of(a), Group::of(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(Group::of(mapped), Group::of("192.0.2.7".parse().unwrap()));
    }

    #[test]
    fn buckets_say_how_long_to_wait_and_charges_can_go_into_debt() {
        let b = Buckets::new(10.0, 3.0);
        for _ in 0..3 {
            b.take(1u8, 1.0).unwrap();
        }
        let Wait(w) = b.take(1, 1.0).unwrap_err();
        assert!(w > Duration::from_millis(40) && w <= Duration::from_millis(110), "{w:?}");
        b.take(2, 1.0).unwrap(); // another key has its own bucket
        b.charge(2, 100.0);
        let Wait(w) = b.check(2).unwrap_err();
        assert!(w >= Duration::from_secs(9), "a debt of 98 tokens at 10/s: {w:?}");
        assert!(Buckets::new(0.0, 1.0).take(1u8, 1e9).is_ok(), "rate 0 is no limit");
    }

    #[test]
    fn space_refuses_past_the_cap_or_into_the_reserve() {
        let s = Space::default();
        s.add_stored(50);
        s.reserve(40, 100, 0, None).unwrap();
        assert_eq!(s.reserve(20, 100, 0, None), Err(Full::Cap));
        s.settle(40, false);
        s.reserve(50, 100, 0, None).unwrap();
        s.settle(50, true);
        assert_eq!(s.stored(), 100);
        assert_eq!(s.reserve(1, 0, 1000, Some(1000)), Err(Full::Disk));
        s.reserve(1, 0, 1000, Some(1001)).unwrap();
        s.remove_stored(1000);
        assert_eq!(s.stored(), 0);
    }

    #[test]
    fn only_live_connections_count() {
        let conns = Arc::new(Conns::default());
        let g = Group::of("10.0.0.1".parse().unwrap());
        let a = conns.admit(g, 2).unwrap();
        let _b = conns.admit(g, 2).unwrap();
        assert!(conns.admit(g, 2).is_none());
        drop(a);
        assert!(conns.admit(g, 2).is_some());
    }
}
