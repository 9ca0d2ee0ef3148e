//! The registry's rules with plain values instead of plugins: no file, no ELF.
//!
//! Each test has a registry of its own (`registry!`), so tests run in parallel
//! without sharing slots. Threads that could hang report through channels with a
//! deadline, so a broken rule fails the test instead of hanging it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use super::*;

/// What a test load fails with.
#[derive(Debug, PartialEq, Eq)]
enum Fail {
    Load(&'static str),
    Panicked,
}

impl From<Panicked> for Fail {
    fn from(_: Panicked) -> Self {
        Fail::Panicked
    }
}

type Hook = Box<dyn Fn() + Send + Sync>;

/// A loaded value: holds its lease as a plugin's state does, and runs `on_drop`
/// during its teardown (where a plugin's `fini` would run).
struct Value {
    n: usize,
    on_drop: Option<Hook>,
    lease: Lease,
}

impl Drop for Value {
    fn drop(&mut self) {
        self.lease.closing();
        if let Some(hook) = &self.on_drop {
            hook();
        }
    }
}

type Reg<T> = Registry<Value, Fail, T>;
type Opened = Result<Arc<Value>, Refusal<Fail>>;

/// A registry of its own for the calling test, with per-thread state of its own.
macro_rules! registry {
    () => {{
        per_thread!(Threads: Value);
        static REG: Reg<Threads> = Registry::new();
        &REG
    }};
}

fn file(name: &str, ino: u64) -> FileKey {
    FileKey {
        canonical: PathBuf::from(format!("/reg/{name}")),
        id: staticdl_loader::FileId { dev: 1, ino },
    }
}

fn value(n: usize, lease: Lease) -> Result<Arc<Value>, Fail> {
    Ok(Arc::new(Value {
        n,
        on_drop: None,
        lease,
    }))
}

/// Opens `/reg/{name}` (inode `ino`) in `reg`, loading a value numbered by `loads`
/// if the registry asks for a load.
fn open<T: PerThread<Value>>(
    reg: &'static Reg<T>,
    name: &str,
    ino: u64,
    keep: bool,
    loads: &AtomicUsize,
) -> Opened {
    let f = file(name, ino);
    let requested = f.canonical.clone();
    reg.open(&requested, f, keep, |_, lease| {
        value(loads.fetch_add(1, Ordering::SeqCst) + 1, lease)
    })
}

fn failed(r: Opened) -> (Arc<Fail>, bool) {
    match r {
        Err(Refusal::Failed { cause, previous }) => (cause, previous),
        Err(Refusal::Reentrant) => panic!("refused as re-entrant"),
        Ok(v) => panic!("loaded value #{}", v.n),
    }
}

/// Waits until `n` opens of `reg` are waiting (or fails after ten seconds).
fn until_waiting<T>(reg: &'static Reg<T>, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while reg.waits.load(Ordering::SeqCst) < n {
        assert!(Instant::now() < deadline, "the waiters never waited");
        thread::sleep(Duration::from_millis(1));
    }
}

/// Starts `n` threads opening `/reg/{name}`, whose own loads would count in
/// `loads`; their results come back through the receiver.
fn waiters<T: PerThread<Value>>(
    reg: &'static Reg<T>,
    name: &'static str,
    n: usize,
    loads: &'static AtomicUsize,
) -> mpsc::Receiver<Opened> {
    let (tx, rx) = mpsc::channel();
    for _ in 0..n {
        let tx = tx.clone();
        thread::spawn(move || {
            let _ = tx.send(open(reg, name, 7, false, loads));
        });
    }
    rx
}

fn collect<T>(rx: &mpsc::Receiver<T>, n: usize) -> Vec<T> {
    (0..n)
        .map(|_| {
            rx.recv_timeout(Duration::from_secs(30))
                .expect("a waiter was never woken")
        })
        .collect()
}

/// A load on another thread that blocks until released; returns the release
/// sender and the loader's join handle.
fn blocked_load<T: PerThread<Value>>(
    reg: &'static Reg<T>,
    name: &'static str,
    outcome: fn(Lease) -> Result<Arc<Value>, Fail>,
) -> (mpsc::Sender<()>, thread::JoinHandle<Opened>) {
    let (started_tx, started) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    let loader = thread::spawn(move || {
        let f = file(name, 7);
        let requested = f.canonical.clone();
        reg.open(&requested, f, false, move |_, lease| {
            started_tx.send(()).unwrap();
            released.recv().unwrap();
            outcome(lease)
        })
    });
    started
        .recv_timeout(Duration::from_secs(10))
        .expect("the load started");
    (release, loader)
}

#[test]
fn waiters_are_woken_with_the_one_loaded_value() {
    let reg = registry!();
    static LOADS: AtomicUsize = AtomicUsize::new(0);
    let (release, loader) = blocked_load(reg, "ok", |lease| value(100, lease));
    let rx = waiters(reg, "ok", 4, &LOADS);
    until_waiting(reg, 4);
    release.send(()).unwrap();
    let first = loader.join().unwrap().ok().expect("loaded");
    for got in collect(&rx, 4) {
        let got = got.ok().expect("the waiter got the value");
        assert!(Arc::ptr_eq(&got, &first));
    }
    assert_eq!(first.n, 100);
    assert_eq!(LOADS.load(Ordering::SeqCst), 0, "no waiter loaded");
}

#[test]
fn waiters_are_woken_with_the_failure_they_waited_for() {
    let reg = registry!();
    static LOADS: AtomicUsize = AtomicUsize::new(0);
    let (release, loader) = blocked_load(reg, "bad", |_| Err(Fail::Load("boom")));
    let rx = waiters(reg, "bad", 3, &LOADS);
    until_waiting(reg, 3);
    release.send(()).unwrap();
    let (cause, previous) = failed(loader.join().unwrap());
    assert_eq!(*cause, Fail::Load("boom"));
    assert!(!previous);
    for got in collect(&rx, 3) {
        let (c, previous) = failed(got);
        assert!(Arc::ptr_eq(&c, &cause), "the same failure is shared");
        assert!(!previous, "a failure waited for is not a previous one");
    }
    // A later open gets it again, remembered.
    let (c, previous) = failed(open(reg, "bad", 7, false, &LOADS));
    assert!(Arc::ptr_eq(&c, &cause));
    assert!(previous);
    assert_eq!(LOADS.load(Ordering::SeqCst), 0);
}

#[test]
fn a_panicking_load_wakes_waiters_with_panicked() {
    let reg = registry!();
    static LOADS: AtomicUsize = AtomicUsize::new(0);
    let (release, loader) = blocked_load(reg, "panics", |_| panic!("load exploded"));
    let rx = waiters(reg, "panics", 2, &LOADS);
    until_waiting(reg, 2);
    release.send(()).unwrap();
    assert!(loader.join().is_err(), "the loading thread panicked");
    for got in collect(&rx, 2) {
        let (cause, previous) = failed(got);
        assert_eq!(*cause, Fail::Panicked);
        assert!(!previous);
    }
    let (cause, previous) = failed(open(reg, "panics", 7, false, &LOADS));
    assert_eq!(*cause, Fail::Panicked);
    assert!(previous, "the panic is remembered like any failure");
    assert_eq!(LOADS.load(Ordering::SeqCst), 0);
}

#[test]
fn a_failure_is_remembered_until_forgotten() {
    let reg = registry!();
    let loads = AtomicUsize::new(0);
    let f = file("flaky", 3);
    let requested = f.canonical.clone();
    let fail = |_: &Path, _| {
        loads.fetch_add(1, Ordering::SeqCst);
        Err(Fail::Load("no"))
    };
    let (_, previous) = failed(reg.open(&requested, f.clone(), false, fail));
    assert!(!previous);
    let (_, previous) = failed(reg.open(&requested, f.clone(), false, fail));
    assert!(previous);
    // The fast path by the same string says so too, without resolving anything.
    let (_, previous) = failed(reg.find_by_request(&requested, false).expect("known"));
    assert!(previous);
    assert_eq!(loads.load(Ordering::SeqCst), 1, "one load for three opens");

    // Known by this string: forgotten without resolving.
    assert!(reg.forget_failure(&requested, || panic!("resolved a known path")));
    assert!(!reg.forget_failure(&requested, || None), "nothing left");
    let (_, previous) = failed(reg.open(&requested, f.clone(), false, fail));
    assert!(!previous, "tried again");
    assert_eq!(loads.load(Ordering::SeqCst), 2);

    // By another name of the same file: resolved, then forgotten.
    let other = Path::new("/elsewhere/flaky-link");
    assert!(reg.forget_failure(other, || Some(file("flaky", 3))));
    assert!(!reg.forget_failure(Path::new("/no/such"), || None));
    // A loaded value is not a failure to forget.
    let ok = reg
        .open(&requested, f.clone(), false, |_, lease| value(9, lease))
        .ok()
        .unwrap();
    assert!(!reg.forget_failure(&requested, || None));
    assert_eq!(ok.n, 9);
}

#[test]
fn values_are_held_weakly_unless_kept() {
    let reg = registry!();
    let loads = AtomicUsize::new(0);
    let a = open(reg, "weak", 1, false, &loads).ok().unwrap();
    let b = open(reg, "weak", 1, false, &loads).ok().unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    drop((a, b));
    // The lease cleared the slot: the next open loads afresh.
    let c = open(reg, "weak", 1, false, &loads).ok().unwrap();
    assert_eq!((c.n, loads.load(Ordering::SeqCst)), (2, 2));
    drop(c);

    let kept = open(reg, "kept", 2, true, &loads).ok().unwrap();
    let n = kept.n;
    drop(kept);
    let again = open(reg, "kept", 2, false, &loads).ok().unwrap();
    assert_eq!(again.n, n, "still the kept value");
    assert_eq!(loads.load(Ordering::SeqCst), 3);

    // Pinning a value that was opened without it.
    let first = open(reg, "later", 3, false, &loads).ok().unwrap();
    let pinned = open(reg, "later", 3, true, &loads).ok().unwrap();
    assert!(Arc::ptr_eq(&first, &pinned));
    let n = first.n;
    drop((first, pinned));
    assert_eq!(open(reg, "later", 3, false, &loads).ok().unwrap().n, n);
}

#[test]
fn reentrant_opens_are_refused_instead_of_deadlocking() {
    let reg = registry!();
    static INSIDE: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    fn outcome(r: Opened) -> &'static str {
        match r {
            Err(Refusal::Reentrant) => "reentrant",
            Err(Refusal::Failed { .. }) => "failed",
            Ok(_) => "opened",
        }
    }
    // On a thread of its own, so that a deadlock fails the test after a deadline.
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let f = file("self", 5);
        let requested = f.canonical.clone();
        let v = reg.open(&requested, f.clone(), false, |key, lease| {
            // The load opens its own file again (a plugin's init opening itself).
            let again = reg.open(key, f.clone(), false, |_, _| panic!("loaded twice"));
            INSIDE.lock().unwrap().push(outcome(again));
            Ok(Arc::new(Value {
                n: 1,
                on_drop: Some(Box::new(move || {
                    // The teardown opens it again (a plugin's fini opening itself).
                    let f = file("self", 5);
                    let requested = f.canonical.clone();
                    let r = reg.open(&requested, f, false, |_, _| panic!("revived"));
                    INSIDE.lock().unwrap().push(outcome(r));
                })),
                lease,
            }))
        });
        drop(v);
        let _ = tx.send(());
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("a re-entrant open deadlocked");
    assert_eq!(*INSIDE.lock().unwrap(), ["reentrant", "reentrant"]);
    // Once torn down, the file opens normally again.
    let loads = AtomicUsize::new(0);
    assert_eq!(open(reg, "self", 5, false, &loads).ok().unwrap().n, 1);
}

#[test]
fn hard_links_share_the_live_slot() {
    let reg = registry!();
    let loads = AtomicUsize::new(0);
    let a = open(reg, "name-a", 42, false, &loads).ok().unwrap();
    let b = open(reg, "name-b", 42, false, &loads).ok().unwrap();
    assert!(Arc::ptr_eq(&a, &b), "same file identity, same value");
    assert_eq!(loads.load(Ordering::SeqCst), 1);
    drop((a, b));
    // Once gone, the other name loads under its own key.
    let keys = Mutex::new(Vec::new());
    let f = file("name-b", 42);
    let requested = f.canonical.clone();
    let c = reg
        .open(&requested, f, false, |key, lease| {
            keys.lock().unwrap().push(key.to_path_buf());
            value(2, lease)
        })
        .ok()
        .unwrap();
    assert_eq!(*keys.lock().unwrap(), [PathBuf::from("/reg/name-b")]);
    assert_eq!(c.n, 2);
}

#[test]
fn a_repeated_absolute_path_is_answered_without_resolving() {
    let reg = registry!();
    let requested = Path::new("/requested/as/given.so");
    assert!(reg.hit(requested).is_none(), "never seen");
    assert!(reg.find_by_request(requested, false).is_none());
    let v = reg
        .open(requested, file("given", 8), false, |_, lease| {
            value(1, lease)
        })
        .ok()
        .unwrap();
    // Known by this absolute string: answered from the registry's map of
    // requested paths, which also fills this thread's hit map.
    assert!(reg.hit(requested).is_none(), "a load fills no hit map");
    let known = reg.find_by_request(requested, false).unwrap().ok().unwrap();
    assert!(Arc::ptr_eq(&known, &v));
    // Another thread, without hits of its own, is answered from the map too.
    let other = thread::spawn(move || reg.find_by_request(requested, false).map(|r| r.ok()));
    let other = other.join().unwrap().flatten().expect("known path");
    assert!(Arc::ptr_eq(&other, &v));

    // From now on this thread's repeated open takes no lock at all: it is
    // answered while another thread holds the registry's lock.
    let (locked_tx, locked) = mpsc::channel();
    let (done_tx, done) = mpsc::channel::<()>();
    let holder = thread::spawn(move || {
        let guard = reg.lock();
        locked_tx.send(()).unwrap();
        // Released by the signal if the hit took no lock, else by the deadline.
        let signalled = done.recv_timeout(Duration::from_secs(3)).is_ok();
        drop(guard);
        signalled
    });
    locked.recv().unwrap();
    let hit = reg.hit(requested).expect("a hit");
    done_tx.send(()).unwrap();
    assert!(
        holder.join().unwrap(),
        "the hit waited for the registry lock"
    );
    assert!(Arc::ptr_eq(&hit, &v));

    // A relative path may name another file after a `chdir`: never answered.
    assert!(reg.hit(Path::new("given.so")).is_none());
    assert!(reg.find_by_request(Path::new("given.so"), false).is_none());
    drop((v, known, other, hit));
    // Gone: the fast paths give way to a full open, which loads afresh.
    assert!(reg.hit(requested).is_none());
    assert!(reg.find_by_request(requested, false).is_none());
}
