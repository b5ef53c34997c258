//! Where things are printed: results on stdout (text, or one JSON line with `--json`), steps
//! and progress on stderr (a progress bar only when stderr is a terminal). Every line passes
//! through [`Output::redact`], which replaces the values of the secret variables with `***`
//! whatever their source (a registry echoing a header back, a server printing its token).

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The printer of one command.
#[derive(Clone)]
pub struct Output {
    json: bool,
    quiet: bool,
    secrets: Vec<String>,
    bar: ProgressBar,
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Output")
            .field("json", &self.json)
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

impl Output {
    /// A printer; `secrets` are scrubbed from everything it prints.
    pub fn new(json: bool, secrets: Vec<String>) -> Self {
        Self {
            json,
            quiet: false,
            // Short values would scrub ordinary words; no real token is that short.
            secrets: secrets.into_iter().filter(|s| s.len() >= 4).collect(),
            bar: ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
        }
    }

    /// A printer that prints nothing on stderr (for library callers and tests).
    pub fn quiet() -> Self {
        Self {
            json: true,
            quiet: true,
            secrets: Vec::new(),
            bar: ProgressBar::hidden(),
        }
    }

    /// Whether results are one JSON line.
    pub fn json(&self) -> bool {
        self.json
    }

    /// `text` with every secret replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            out = out.replace(secret.as_str(), "***");
        }
        out
    }

    /// A result line on stdout.
    pub fn result(&self, text: &str) {
        let text = self.redact(text);
        self.bar.suspend(|| println!("{text}"));
    }

    /// A JSON value as one line on stdout.
    pub fn result_json(&self, value: &serde_json::Value) {
        self.result(&value.to_string());
    }

    /// A step or note on stderr (not in quiet mode).
    pub fn step(&self, text: &str) {
        if self.quiet {
            return;
        }
        let text = self.redact(text);
        self.bar.suspend(|| eprintln!("{text}"));
    }

    /// Starts a byte progress bar of `total` bytes, labelled `message`.
    pub fn start_bytes(&self, total: u64, message: &str) -> ProgressBar {
        let bar = self.bar.clone();
        bar.reset();
        bar.set_length(total);
        bar.set_position(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_message(self.redact(message));
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    }

    /// Clears the progress bar.
    pub fn finish_bytes(&self) {
        self.bar.disable_steady_tick();
        self.bar.finish_and_clear();
    }
}
