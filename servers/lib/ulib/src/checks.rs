//! Counted checks for the test tasks: each check passes, or fails with one
//! console line `NAME: FAIL what ...` (the test harness counts `: FAIL`
//! lines as failures, beside the task's exit status).

use crate::{println, Error};

/// Passed and failed checks of one task, named in its failure lines.
pub struct Checks {
    name: &'static str,
    pub failed: u32,
    pub passed: u32,
}

impl Checks {
    /// No checks yet; failure lines start with `name`.
    pub const fn new(name: &'static str) -> Checks {
        Checks {
            name,
            failed: 0,
            passed: 0,
        }
    }

    /// `got` must be exactly the error `want`.
    pub fn expect<T: core::fmt::Debug>(&mut self, what: &str, got: Result<T, Error>, want: Error) {
        match got {
            Err(e) if e == want => self.passed += 1,
            other => {
                self.failed += 1;
                println!(
                    "{}: FAIL {}: got {:?}, want {:?}",
                    self.name, what, other, want
                );
            }
        }
    }

    /// `got` must succeed; its value, if it did.
    pub fn ok<T>(&mut self, what: &str, got: Result<T, Error>) -> Option<T> {
        match got {
            Ok(v) => {
                self.passed += 1;
                Some(v)
            }
            Err(e) => {
                self.failed += 1;
                println!("{}: FAIL {}: {:?}", self.name, what, e);
                None
            }
        }
    }

    /// `cond` must hold.
    pub fn check(&mut self, what: &str, cond: bool) {
        if cond {
            self.passed += 1;
        } else {
            self.failed += 1;
            println!("{}: FAIL {}", self.name, what);
        }
    }

    /// A failure the caller describes: `NAME: FAIL` and `args`.
    pub fn fail(&mut self, args: core::fmt::Arguments<'_>) {
        self.failed += 1;
        println!("{}: FAIL {}", self.name, args);
    }
}
