//! `edgegap-emulator --config <file>`: serves Edgegap's API on loopback until Ctrl-C (or
//! SIGTERM), then ends every launched server process.

use std::process::ExitCode;

use edgegap_emulator::Emulator;

const USAGE: &str = "usage: edgegap-emulator --config <file.toml>

Serves Edgegap's dedicated-server API on loopback. The config file (TOML) declares the app
versions (simulated, or a local command launched as the deployment), token, bind address,
lifecycle step, rate limits, faults, private fleets, locations and Edgegap's matchmaker
(`[matchmaker]`, on its own port): see the crate README.
Logs: RUST_LOG=edgegap_emulator=debug.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match args.as_slice() {
        [flag, path] if flag == "--config" || flag == "-c" => path.clone(),
        [flag] if flag == "--help" || flag == "-h" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("edgegap_emulator=info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let emulator = match Emulator::from_config_file(&config).and_then(|b| b.start()) {
        Ok(emulator) => emulator,
        Err(error) => {
            eprintln!("edgegap-emulator: {error}");
            return ExitCode::FAILURE;
        }
    };
    // The token is printed on purpose: it is the local emulator's, and clients need it.
    println!("edgegap-emulator serving on {}", emulator.base_url());
    println!("EDGEGAP_BASE_URL={}", emulator.base_url());
    println!("EDGEGAP_TOKEN={}", emulator.token());
    // The matchmaker's token is made to ship in game clients; clients need it.
    if !emulator.matchmaker_url().is_empty() {
        println!("EDGEGAP_MATCHMAKER_URL={}", emulator.matchmaker_url());
        println!("EDGEGAP_MATCHMAKER_TOKEN={}", emulator.matchmaker_token());
    }
    let waited = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map(|runtime| {
            runtime.block_on(async {
                #[cfg(unix)]
                {
                    let mut term =
                        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                            .ok();
                    let terminate = async {
                        match term.as_mut() {
                            Some(term) => {
                                term.recv().await;
                            }
                            None => std::future::pending::<()>().await,
                        }
                    };
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        () = terminate => {}
                    }
                }
                #[cfg(not(unix))]
                let _ = tokio::signal::ctrl_c().await;
            });
        });
    if let Err(error) = waited {
        eprintln!("edgegap-emulator: cannot wait for Ctrl-C: {error}");
    }
    eprintln!("edgegap-emulator: shutting down (ending launched processes)");
    emulator.shutdown();
    ExitCode::SUCCESS
}
