//! Standard output, for results and reports. A reader that goes away (`status | head`) ends the
//! command quietly (see [`crate::commands::exit::is_broken_pipe`]) instead of the panic `print!` gives.

use std::io::Write;

/// Writes to stdout, like `print!`, and returns the error instead of panicking.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::out::write(format_args!($($arg)*))
    };
}

/// Writes a line to stdout, like `println!`, and returns the error instead of panicking.
#[macro_export]
macro_rules! outln {
    () => {
        $crate::out::write(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::out::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub fn write(args: std::fmt::Arguments<'_>) -> Result<(), StdoutError> {
    std::io::stdout()
        .lock()
        .write_fmt(args)
        .map_err(StdoutError)
}

/// Standard output could not be written (see [`crate::commands::exit::is_broken_pipe`]).
#[derive(Debug, thiserror::Error)]
#[error("cannot write to standard output: {0}")]
pub struct StdoutError(#[source] pub std::io::Error);
