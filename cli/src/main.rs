//! `cargo-edgegap`: `cargo edgegap release|deploy|status|stop|logs|list`. See the library's
//! docs (`cargo_edgegap`).

use std::process::ExitCode;

fn main() -> ExitCode {
    cargo_edgegap::run(
        std::env::args_os(),
        &cargo_edgegap::env::Env::from_process(),
    )
}
