//! Where a reader puts what it found in one input: observations (sent on in batches, so a
//! large file never piles up in memory) and notes (a few per file, the rest counted).

use jiff::Timestamp;

use crate::error::{Note, Problem};
use crate::limits::Limits;
use crate::model::Observation;

/// Removes credentials from text taken from an input.
pub type Redact = dyn Fn(&str) -> String + Sync;

const BATCH: usize = 512;

pub struct Sink<'a> {
    /// The input being read, for people: a path, `archive.zip!member`.
    pub name: String,
    /// The file's modification time (the last resort for a document's time).
    pub mtime: Option<Timestamp>,
    pub limits: Limits,
    pub redact: &'a Redact,
    /// Position of the next observation in this input (orders equal times deterministically).
    seq: u64,
    out: &'a mut dyn FnMut(Vec<Observation>),
    batch: Vec<Observation>,
    pub notes: Vec<Note>,
    listed_here: usize,
    hidden_here: usize,
    pub documents: u64,
}

impl<'a> Sink<'a> {
    pub fn new(
        name: String,
        mtime: Option<Timestamp>,
        limits: Limits,
        redact: &'a Redact,
        out: &'a mut dyn FnMut(Vec<Observation>),
    ) -> Self {
        Sink {
            name,
            mtime,
            limits,
            redact,
            seq: 0,
            out,
            batch: Vec::new(),
            notes: Vec::new(),
            listed_here: 0,
            hidden_here: 0,
            documents: 0,
        }
    }

    /// The next position in this input.
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub fn emit(&mut self, obs: Observation) {
        self.documents += 1;
        self.batch.push(obs);
        if self.batch.len() >= BATCH {
            (self.out)(std::mem::take(&mut self.batch));
        }
    }

    /// A problem with this input (`at`: a line or row, appended to the name).
    pub fn note(&mut self, at: Option<String>, problem: &Problem) {
        if self.listed_here >= self.limits.notes_per_file {
            self.hidden_here += 1;
            return;
        }
        self.listed_here += 1;
        let file = match at {
            Some(at) => format!("{}:{at}", self.name),
            None => self.name.clone(),
        };
        self.notes.push(Note::new((self.redact)(&file), problem));
    }

    /// Another input starts (an archive member): its own count of listed notes.
    pub fn switch_to(&mut self, name: String) {
        self.close_notes();
        self.name = name;
        self.seq = 0;
    }

    fn close_notes(&mut self) {
        if self.hidden_here > 0 {
            let n = self.hidden_here;
            self.notes
                .push(Note::new((self.redact)(&self.name), &Problem::More(n)));
        }
        self.listed_here = 0;
        self.hidden_here = 0;
    }

    /// Send what is left.
    pub fn finish(&mut self) {
        self.close_notes();
        if !self.batch.is_empty() {
            (self.out)(std::mem::take(&mut self.batch));
        }
    }
}
