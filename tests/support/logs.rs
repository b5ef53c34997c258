//! Every log line of a test binary, at every level (trace included), kept in memory: for the
//! checks that a secret is in no log line.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use bevy::log::tracing_subscriber;

/// Installs the capturing subscriber once for this test binary; later calls do nothing.
pub fn capture() {
    buffer();
}

/// Everything logged since [`capture`], as text.
pub fn text() -> String {
    String::from_utf8_lossy(&buffer().lock().unwrap()).into_owned()
}

fn buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(bevy::log::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Sink(sink.clone()))
            .finish();
        bevy::log::tracing::subscriber::set_global_default(subscriber)
            .expect("no other subscriber in this test binary");
        buffer
    })
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
