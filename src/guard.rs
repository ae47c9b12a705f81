//! Containing panics from third-party parsers. A parser library that panics on hostile input
//! (found by fuzzing: polars-parquet on a malformed footer, pep508_rs on some names) must give a
//! one-line error for that file, not an internal error for the whole run.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};

thread_local! {
    static GUARDED: Cell<u32> = const { Cell::new(0) };
}

/// Whether the current thread is inside [`catch_panic`]: the binary's panic hook stays silent
/// then, because the panic becomes an ordinary error.
pub fn guarded() -> bool {
    GUARDED.with(|g| g.get() > 0)
}

/// The message of a panic payload (`panic!` with a literal or a formatted string).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> Option<String> {
    payload.downcast_ref::<String>().cloned().or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
}

/// Runs `f`; a panic inside becomes `Err` with the first line of the panic message, and the
/// binary's panic hook stays silent.
pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    GUARDED.with(|g| g.set(g.get() + 1));
    let result = catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(g.get() - 1));
    result.map_err(|panic| {
        let message = panic_message(panic.as_ref()).unwrap_or_else(|| "unknown panic".to_string());
        message.lines().next().unwrap_or_default().to_string()
    })
}

/// Runs a third-party parser; a panic inside becomes `Err` naming the parser's failure.
pub fn catch_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch(f).map_err(|message| format!("the parser failed on this input ({message})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_errors_and_the_flag_resets() {
        assert!(!guarded());
        let err = catch_panic(|| -> u8 { panic!("bad footer") }).unwrap_err();
        assert_eq!(err, "the parser failed on this input (bad footer)");
        assert!(!guarded());
        assert_eq!(catch_panic(|| 7), Ok(7));
    }
}
