//! `edgegap-gateway --config gateway.toml [--emulator]`
//!
//! Serves until SIGINT/SIGTERM, then stops gracefully. `--emulator` runs it in front of an
//! in-process `edgegap-emulator` (one simulated app version per allowed one); without a
//! config file it also prints a development player token.

use std::process::ExitCode;
use std::time::Duration;

use edgegap_gateway::{Gateway, GatewayBuilder, GatewayConfig, GatewayError, dev_token};

const USAGE: &str = "usage: edgegap-gateway [--config <gateway.toml>] [--emulator]

  --config FILE   policy, auth and upstream (example: assets/gateway.toml)
  --emulator      run in front of an in-process edgegap-emulator (local development)

environment overrides: EDGEGAP_TOKEN, EDGEGAP_BASE_URL, GATEWAY_BIND, GATEWAY_HS256_SECRET,
GATEWAY_OWNER_KEY, GATEWAY_PUBLIC_KEY_FILE, GATEWAY_PUBLIC_URL, GATEWAY_WEBHOOK_SECRET,
GATEWAY_REDIS_URL (replicas), GATEWAY_CORS_ORIGINS (browser pages); logs: RUST_LOG (default edgegap_gateway=info)";

/// The HS256 secret of `--emulator` without a config file (development only).
const DEV_SECRET: &str = "edgegap-gateway local development secret";

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "edgegap_gateway=info,edgegap_emulator=warn".into()),
        )
        .init();
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("edgegap-gateway: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut config_path = None;
    let mut emulator = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" => {
                config_path = Some(args.next().ok_or("--config needs a file")?);
            }
            "--emulator" => emulator = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument `{other}`\n{USAGE}").into()),
        }
    }
    let mut config = match &config_path {
        Some(path) => GatewayConfig::from_file(path)?,
        None if emulator => {
            // Local development defaults: the emulator's `my-game` 1.0.0, a known secret.
            let mut dev = Gateway::builder()
                .allow("my-game", "1.0.0")
                .hs256_secret(DEV_SECRET)
                .config()
                .clone();
            dev.bind = "127.0.0.1:8080".parse()?;
            // The in-process emulator reaches the gateway here: READY arrives by webhook.
            dev.status.public_url = Some(format!("http://{}", dev.bind));
            dev
        }
        None => return Err(format!("--config is required without --emulator\n{USAGE}").into()),
    };
    config.apply_env()?;

    // Kept alive until the gateway stops.
    let _emulator = if emulator {
        Some(start_emulator(&mut config)?)
    } else {
        None
    };

    let gateway = GatewayBuilder::from_config(config).start()?;
    println!("GATEWAY_URL={}", gateway.base_url());
    if emulator && config_path.is_none() {
        let token = dev_token(
            DEV_SECRET.as_bytes(),
            "dev-player",
            Duration::from_secs(86_400),
        )?;
        println!("PLAYER_TOKEN={token}   (player `dev-player`, HS256 secret `{DEV_SECRET}`)");
    }

    wait_for_signal()?;
    gateway.shutdown();
    Ok(())
}

#[cfg(feature = "emulator")]
fn start_emulator(
    config: &mut GatewayConfig,
) -> Result<edgegap_emulator::EmulatorHandle, Box<dyn std::error::Error>> {
    use edgegap_emulator::{AppVersion, Emulator};
    let mut builder = Emulator::builder();
    for allowed in &config.policy.allow {
        if allowed.version == "*" {
            tracing::warn!(
                "`{}` allows every version; the emulator serves only named versions",
                allowed.application
            );
            continue;
        }
        builder = builder.app_version(
            AppVersion::simulated(&allowed.application, &allowed.version)
                .port("gameport", 7777, "UDP"),
        );
    }
    let emulator = builder.start()?;
    config.upstream.base_url = emulator.base_url();
    config.upstream.token = edgegap_gateway::SecretText::new(emulator.token());
    println!(
        "edgegap-gateway: in front of an in-process emulator on {}",
        emulator.base_url()
    );
    Ok(emulator)
}

#[cfg(not(feature = "emulator"))]
fn start_emulator(_: &mut GatewayConfig) -> Result<(), Box<dyn std::error::Error>> {
    Err(Box::new(GatewayError::Config(
        "--emulator needs the `emulator` feature".into(),
    )))
}

/// Blocks until SIGINT or SIGTERM.
fn wait_for_signal() -> Result<(), GatewayError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let mut term = signal(SignalKind::terminate())?;
            tokio::select! {
                result = tokio::signal::ctrl_c() => result?,
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        tokio::signal::ctrl_c().await?;
        tracing::info!("signal received; stopping");
        Ok(())
    })
}
