//! `edgegap-web-tests [--update-screenshot] [--lobby-only | --tests-only]`: the browser
//! harness (what `cargo xtask test-web` runs).
//!
//! 1. Starts the services ([`Services`]) with the gateway's CORS and the matchmaker's
//!    `allowed_cors_origins` allowing the test page's origin and the lobby's.
//! 2. Runs `tests/browser.rs` in headless Chromium (`wasm-bindgen-test-runner` +
//!    chromedriver), the services' URLs built in.
//! 3. Builds `examples/web_lobby`, serves it, opens it in headless Chromium, clicks "Play",
//!    waits for READY and an address, and saves a screenshot to
//!    `target/web-tests/web_lobby.png` (`--update-screenshot`: also to `docs/web_lobby.png`,
//!    the one the README shows). Then opens it in matchmaker mode in two tabs, clicks "Play"
//!    in each, checks that both land on one server, and saves
//!    `target/web-tests/web_lobby_match.png`.
//! 4. Stops everything. Exit code 0 when all passed, 1 otherwise, 2 for bad usage.
//!
//! `edgegap-web-tests --serve-lobby` starts the services and serves the lobby for a person to
//! open, until Ctrl-C.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    harness::main()
}

#[cfg(not(target_arch = "wasm32"))]
mod harness {
    use std::process::ExitCode;
    use std::time::Instant;

    use edgegap_test_services::free_port;
    use edgegap_web_tests::browser;
    use edgegap_web_tests::services::Services;

    const USAGE: &str =
        "usage: edgegap-web-tests [--update-screenshot] [--tests-only | --lobby-only]
       edgegap-web-tests --serve-lobby      serve the web_lobby example for a person, until Ctrl-C";

    pub(crate) fn main() -> ExitCode {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let known = [
            "--update-screenshot",
            "--tests-only",
            "--lobby-only",
            "--serve-lobby",
        ];
        if let Some(bad) = args.iter().find(|a| !known.contains(&a.as_str())) {
            eprintln!("unknown argument `{bad}`\n{USAGE}");
            return ExitCode::from(2);
        }
        let flag = |name: &str| args.iter().any(|a| a == name);
        if flag("--serve-lobby") {
            return serve_lobby();
        }
        let started = Instant::now();
        let page = format!("127.0.0.1:{}", free_port());
        let lobby_port = free_port();
        let services = Services::start(&[
            format!("http://{page}"),
            format!("http://127.0.0.1:{lobby_port}"),
        ]);
        let mut passed = true;
        if !flag("--lobby-only") {
            let tests = Instant::now();
            let ok = browser::run_wasm_tests(&services.setup, &page);
            println!(
                "web-tests: the browser tests {} in {:.1?}",
                if ok { "passed" } else { "FAILED" },
                tests.elapsed()
            );
            passed &= ok;
        }
        if !flag("--tests-only") {
            passed &= lobby(&services, lobby_port, flag("--update-screenshot"));
        }
        drop(services);
        println!("web-tests: done in {:.1?}", started.elapsed());
        if passed {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }

    /// The `web_lobby` example, built and served on `port`: through the gateway (clicked and
    /// photographed), then through the matchmaker in two tabs. Whether both passed.
    fn lobby(services: &Services, port: u16, update_screenshot: bool) -> bool {
        let dir = match browser::build_lobby() {
            Ok(dir) => dir,
            Err(error) => {
                eprintln!("web-tests: the web_lobby example FAILED: {error}");
                return false;
            }
        };
        let files = browser::serve_lobby(dir, port);
        let mut passed = true;
        let started = Instant::now();
        let screenshot = browser::target_dir().join("web-tests/web_lobby.png");
        match browser::lobby(&services.setup, &files.url(), &screenshot) {
            Ok(address) => {
                println!(
                    "web-tests: the web_lobby example showed READY and `{}` in {:.1?}; screenshot: {}",
                    address.trim(),
                    started.elapsed(),
                    screenshot.display()
                );
                if update_screenshot {
                    let docs = browser::workspace().join("docs/web_lobby.png");
                    match std::fs::copy(&screenshot, &docs) {
                        Ok(_) => println!("web-tests: updated {}", docs.display()),
                        Err(e) => {
                            eprintln!("web-tests: cannot update {}: {e}", docs.display());
                            passed = false;
                        }
                    }
                }
            }
            Err(error) => {
                eprintln!("web-tests: the web_lobby example FAILED: {error}");
                passed = false;
            }
        }
        let started = Instant::now();
        let screenshot = browser::target_dir().join("web-tests/web_lobby_match.png");
        match browser::lobby_match(services, &files.url(), &screenshot) {
            Ok(address) => println!(
                "web-tests: two web_lobby tabs found one match through the matchmaker: `{}` in {:.1?}; screenshot: {}",
                address.trim(),
                started.elapsed(),
                screenshot.display()
            ),
            Err(error) => {
                eprintln!("web-tests: the web_lobby example's matchmaking FAILED: {error}");
                passed = false;
            }
        }
        passed
    }

    /// Serves the lobby and its services until the process is stopped.
    fn serve_lobby() -> ExitCode {
        let port = free_port();
        let services = Services::start(&[format!("http://127.0.0.1:{port}")]);
        let dir = match browser::build_lobby() {
            Ok(dir) => dir,
            Err(error) => {
                eprintln!("web-tests: {error}");
                return ExitCode::FAILURE;
            }
        };
        let _files = browser::serve_lobby(dir, port);
        let setup = &services.setup;
        println!(
            "through the gateway:    http://127.0.0.1:{port}/?gateway={}&token={}\n\
             through the matchmaker: http://127.0.0.1:{port}/?matchmaker={}&mm_token={}&profile={} \
             (open it in two tabs)\n(Ctrl-C to stop)",
            setup.gateway,
            setup.token("lobby"),
            setup.matchmaker,
            setup.matchmaker_token,
            edgegap_web_tests::LOBBY_PROFILE,
        );
        loop {
            std::thread::park();
        }
    }
}
