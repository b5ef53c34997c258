//! The matchmaker token never appears in a log line (at trace level), an error, or the Debug
//! output of the builder and the handle.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use edgegap_emulator::{AppVersion, Emulator};
use support::{MM_TOKEN, duel, duel_config, matchmaker_emulator, send};

/// Everything the emulator logs, at every level.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_token_is_never_logged_nor_in_errors_nor_in_debug_output() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing_subscriber::filter::LevelFilter::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish(),
    )
    .expect("the only subscriber of this test binary");

    let config = duel_config();
    let builder = Emulator::builder()
        .app_version(AppVersion::simulated("game", "v1"))
        .matchmaker(config.clone())
        .matchmaker_token(MM_TOKEN);
    assert!(!format!("{builder:?}").contains(MM_TOKEN), "builder Debug");

    let emu = matchmaker_emulator(&config);
    assert!(!format!("{emu:?}").contains(MM_TOKEN), "handle Debug");
    let monitor = format!("{}/monitor", emu.matchmaker_url());
    for auth in [format!("Bearer {MM_TOKEN}"), format!("token {MM_TOKEN}")] {
        let answer = send("GET", &monitor, Some(&auth), None);
        assert_eq!(answer.status, 401);
        assert!(!answer.text.contains(MM_TOKEN));
    }
    duel(&emu, "HOST_ASSIGNED");
    // A refused configuration, and a refused token, say why without the token.
    let refused = Emulator::builder()
        .matchmaker(config.clone())
        .matchmaker_token(MM_TOKEN)
        .start()
        .expect_err("no such app version");
    assert!(!refused.to_string().contains(MM_TOKEN));
    assert!(!format!("{refused:?}").contains(MM_TOKEN));
    let spaced = format!("{MM_TOKEN} x");
    let refused = Emulator::builder()
        .app_version(AppVersion::simulated("game", "v1"))
        .matchmaker(config)
        .matchmaker_token(spaced.clone())
        .start()
        .expect_err("a token with a space");
    assert!(!refused.to_string().contains(MM_TOKEN));
    drop(emu);

    let logs = String::from_utf8(capture.0.lock().expect("lock").clone()).expect("utf-8");
    assert!(
        logs.contains("matchmaker: `GET /monitor` answered 401"),
        "requests are logged at trace level: {logs}"
    );
    assert!(
        logs.contains("host assigned"),
        "the lifecycle is logged: {logs}"
    );
    assert!(!logs.contains(MM_TOKEN), "the token was logged: {logs}");
}
