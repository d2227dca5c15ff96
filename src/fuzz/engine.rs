//! The in-tree runner: a small deterministic mutation engine (bit flips, interesting bytes,
//! inserts, deletes, duplicated ranges, splices between inputs, truncation, extreme 32-bit
//! fields) over a target's seeds and committed corpus; every input runs under `catch_unwind`,
//! and a panic is a crash.
//!
//! libFuzzer (`fuzz/`) explores far better; this runner stays for what libFuzzer cannot give:
//! a fixed number of executions from a fixed seed that yields the same inputs, so the same
//! answer, on any machine and at any speed, in a plain `cargo test` or `cargo run` without a
//! sanitizer build or a nightly flag. CI runs it; campaigns run libFuzzer (`scripts/fuzz.sh`).

use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use super::{committed, Target};

/// A tiny deterministic PRNG (xorshift64*), so that a run can be repeated from its seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
}

const INTERESTING: &[u8] = &[
    0, 1, 0x7f, 0x80, 0xff, b'\n', b'\r', b'/', b'\\', b'.', b':', b'@', b'"', b'[', b']', b'=',
    b'\t', b' ',
];

/// One to four stacked mutations of `input`, splicing from `corpus`.
pub fn mutate(rng: &mut Rng, input: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = out.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                out[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                out[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 => {
                let i = rng.below(len + 1);
                let n = 1 + rng.below(16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
                out.splice(i..i, bytes);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                out.drain(i..i + n);
            }
            4 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                let chunk = out[i..i + n].to_vec();
                let at = rng.below(len + 1);
                out.splice(at..at, chunk);
            }
            5 if !corpus.is_empty() => {
                let other = &corpus[rng.below(corpus.len())];
                if !other.is_empty() {
                    let i = rng.below(other.len());
                    let n = 1 + rng.below((other.len() - i).min(256));
                    let at = rng.below(len + 1);
                    out.splice(at..at, other[i..i + n].iter().copied());
                }
            }
            6 if len > 0 => out.truncate(rng.below(len)),
            _ if len > 3 => {
                // A 32-bit field set to something extreme (offsets, sizes, counts).
                let i = rng.below(len - 3);
                let v: u32 = [0, 1, 0x7fff_ffff, 0xffff_ffff, 0x1000, len as u32][rng.below(6)];
                out[i..i + 4].copy_from_slice(&v.to_le_bytes());
            }
            _ => {}
        }
    }
    out
}

/// How long to fuzz a target.
#[derive(Debug, Clone, Copy)]
pub enum Budget {
    Executions(u64),
    Time(Duration),
}

/// What a fuzzing run found.
#[derive(Debug, Default)]
pub struct Outcome {
    pub executions: u64,
    /// Each crash: the input and the panic message.
    pub crashes: Vec<(Vec<u8>, String)>,
}

pub fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}

/// Fuzz `target` within `budget` from `seed`: its seeds and its committed corpus and
/// regressions ([`crate::fuzz::committed`]) run first, unmutated, then mutations of them. With
/// [`Budget::Executions`] the run is the same on any machine: the inputs depend on the seed
/// only.
pub fn fuzz(target: &Target, budget: Budget, seed: u64) -> Outcome {
    let mut corpus = (target.seeds)();
    corpus.extend(committed(target.name).into_iter().map(|(_, bytes)| bytes));
    let mut rng = Rng::new(seed);
    let mut outcome = Outcome::default();
    let start = Instant::now();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut pending: Vec<Vec<u8>> = corpus.iter().rev().cloned().collect();
    loop {
        let done = match budget {
            Budget::Executions(n) => outcome.executions >= n,
            Budget::Time(d) => start.elapsed() >= d,
        };
        if done || outcome.crashes.len() >= 10 {
            break;
        }
        let input = pending.pop().unwrap_or_else(|| {
            let base = corpus[rng.below(corpus.len())].clone();
            mutate(&mut rng, &base, &corpus)
        });
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| (target.run)(&input)));
        outcome.executions += 1;
        match result {
            Err(p) => outcome.crashes.push((input, panic_text(&*p))),
            // Keep some survivors: later mutations start further from the seeds.
            Ok(()) if rng.below(64) == 0 && corpus.len() < 512 && input.len() < 1 << 20 => {
                corpus.push(input)
            }
            Ok(()) => {}
        }
    }
    std::panic::set_hook(previous);
    outcome
}
