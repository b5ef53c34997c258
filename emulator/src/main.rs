//! `edgegap-emulator --config <file>` (the config-file loader lands with the next commit).
fn main() {
    eprintln!("edgegap-emulator: the config-file binary is not available yet; use the library");
    std::process::exit(2);
}
