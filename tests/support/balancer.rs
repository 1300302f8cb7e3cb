//! A round-robin load balancer on one loopback port, TCP and UDP, for the relay cluster the tests run: what an
//! operator puts in front of several relays. Each TCP connection, and each UDP flow (a client address: one QUIC
//! connection), goes to the next relay in turn that accepts it, so consecutive commands land on different relays.
//! Plain threads, no protocol knowledge: bytes and datagrams are passed through as they are. [`Balancer::pace`] slows
//! the datagrams towards the relays to a given rate: a slow uplink, so a test can watch an upload while it runs.

use std::collections::HashMap;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// A running balancer; stops listening when stopped or dropped.
pub struct Balancer {
    pub port: u16,
    backends: Arc<Mutex<Vec<SocketAddr>>>,
    stop: Arc<AtomicBool>,
    /// Bytes a second towards the relays over UDP; 0: as fast as they come.
    pace: Arc<AtomicU64>,
    threads: Vec<thread::JoinHandle<()>>,
}

const POLL: Duration = Duration::from_millis(50);
/// A UDP flow with no traffic this long is forgotten.
const FLOW_IDLE: Duration = Duration::from_secs(60);

fn bind_pair(port: u16) -> io::Result<(TcpListener, UdpSocket)> {
    for _ in 0..50 {
        let tcp = TcpListener::bind(("127.0.0.1", port))?;
        let p = tcp.local_addr()?.port();
        match UdpSocket::bind(("127.0.0.1", p)) {
            Ok(udp) => return Ok((tcp, udp)),
            Err(e) if port == 0 && e.kind() == io::ErrorKind::AddrInUse => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("no port free for both TCP and UDP"))
}

impl Balancer {
    /// Listens on `port` (0: one free for both TCP and UDP) and forwards to `backends`, which may be set later.
    pub fn start(port: u16, backends: Arc<Mutex<Vec<SocketAddr>>>) -> Self {
        // The same port again after a stop: the last flow threads let go of it within a poll.
        let mut tries = 0;
        let (tcp, udp) = loop {
            match bind_pair(port) {
                Ok(pair) => break pair,
                Err(e) if tries < 100 && e.kind() == io::ErrorKind::AddrInUse => {
                    tries += 1;
                    thread::sleep(POLL);
                }
                Err(e) => panic!("balancer port {port}: {e}"),
            }
        };
        let port = tcp.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        tcp.set_nonblocking(true).unwrap();
        udp.set_read_timeout(Some(POLL)).unwrap();
        let t1 = {
            let (stop, backends) = (stop.clone(), backends.clone());
            thread::spawn(move || serve_tcp(tcp, backends, stop))
        };
        let pace = Arc::new(AtomicU64::new(0));
        let t2 = {
            let (stop, backends, pace) = (stop.clone(), backends.clone(), pace.clone());
            thread::spawn(move || serve_udp(Arc::new(udp), backends, stop, pace))
        };
        Self { port, backends, stop, pace, threads: vec![t1, t2] }
    }

    /// Passes datagrams towards the relays at `bytes_per_sec` at most (0: no limit). Datagrams wait; the ones the
    /// socket's buffer cannot hold meanwhile are lost, as on a slow link, and QUIC sends them again.
    pub fn pace(&self, bytes_per_sec: u64) {
        self.pace.store(bytes_per_sec, Ordering::Relaxed);
    }

    /// The relays it forwards to.
    pub fn backends(&self) -> Arc<Mutex<Vec<SocketAddr>>> {
        self.backends.clone()
    }

    /// Stops listening (connections already passed on live on until they end).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let _ = io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Write);
}

fn serve_tcp(listener: TcpListener, backends: Arc<Mutex<Vec<SocketAddr>>>, stop: Arc<AtomicBool>) {
    let next = AtomicUsize::new(0);
    while !stop.load(Ordering::Relaxed) {
        let client = match listener.accept() {
            Ok((c, _)) => c,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(5));
                continue;
            }
            Err(_) => continue,
        };
        let list = backends.lock().unwrap().clone();
        // The next relay in turn that takes the connection (a dead one is skipped, as a health check would).
        let upstream = (0..list.len()).find_map(|_| {
            let b = list[next.fetch_add(1, Ordering::Relaxed) % list.len()];
            TcpStream::connect_timeout(&b, Duration::from_secs(1)).ok()
        });
        let Some(upstream) = upstream else { continue };
        let _ = client.set_nonblocking(false);
        let (c2, u2) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
        thread::spawn(move || pipe(client, upstream));
        thread::spawn(move || pipe(u2, c2));
    }
}

fn serve_udp(
    socket: Arc<UdpSocket>,
    backends: Arc<Mutex<Vec<SocketAddr>>>,
    stop: Arc<AtomicBool>,
    pace: Arc<AtomicU64>,
) {
    let mut flows: HashMap<SocketAddr, Arc<UdpSocket>> = HashMap::new();
    let mut next = 0usize;
    let mut buf = vec![0u8; 65_536];
    let mut send_at = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let (n, client) = match socket.recv_from(&mut buf) {
            Ok(r) => r,
            Err(_) => continue, // the poll timeout
        };
        let rate = pace.load(Ordering::Relaxed);
        if rate > 0 {
            let now = Instant::now();
            if send_at > now {
                thread::sleep(send_at - now);
            }
            send_at = send_at.max(now) + Duration::from_secs_f64(n as f64 / rate as f64);
        }
        flows.retain(|_, up| Arc::strong_count(up) > 1); // flows whose reply thread ended
        let up = match flows.get(&client) {
            Some(up) => up.clone(),
            None => {
                let list = backends.lock().unwrap().clone();
                if list.is_empty() {
                    continue;
                }
                let backend = list[next % list.len()];
                next += 1;
                let up = Arc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
                up.connect(backend).unwrap();
                up.set_read_timeout(Some(POLL)).unwrap();
                flows.insert(client, up.clone());
                let (reply, socket, stop) = (up.clone(), socket.clone(), stop.clone());
                thread::spawn(move || {
                    let mut buf = vec![0u8; 65_536];
                    let mut idle = Duration::ZERO;
                    while !stop.load(Ordering::Relaxed) && idle < FLOW_IDLE {
                        match reply.recv(&mut buf) {
                            Ok(n) => {
                                idle = Duration::ZERO;
                                let _ = socket.send_to(&buf[..n], client);
                            }
                            Err(_) => idle += POLL,
                        }
                    }
                });
                up
            }
        };
        let _ = up.send(&buf[..n]);
    }
}
