//! Where things are printed: results on stdout (text, or one JSON line with `--json`), steps
//! and progress on stderr (a progress bar only when stderr is a terminal). Every line passes
//! through [`Output::redact`], which replaces the values of the secret variables with `***`
//! whatever their source (a registry echoing a header back, a server printing its token).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The printer of one command.
#[derive(Clone)]
pub struct Output {
    json: bool,
    quiet: bool,
    /// Shared by the clones: a secret learnt later ([`Output::hide`]) is hidden everywhere.
    secrets: Arc<Mutex<Vec<String>>>,
    /// The progress bar being shown, if any: lines are printed above it.
    bar: Arc<Mutex<Option<ProgressBar>>>,
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Output")
            .field("json", &self.json)
            .field("secrets", &self.secrets.lock().map_or(0, |s| s.len()))
            .finish()
    }
}

impl Output {
    /// A printer; `secrets` are scrubbed from everything it prints.
    pub fn new(json: bool, secrets: Vec<String>) -> Self {
        let out = Self {
            json,
            quiet: false,
            secrets: Arc::default(),
            bar: Arc::default(),
        };
        out.hide(secrets);
        out
    }

    /// A printer that prints nothing on stderr (for library callers and tests).
    pub fn quiet() -> Self {
        Self {
            json: true,
            quiet: true,
            secrets: Arc::default(),
            bar: Arc::default(),
        }
    }

    /// Hides `values` too, from now on (secrets read after the printer was made, such as the
    /// values of `secret_envs`). Values shorter than 4 characters are not hidden: they would
    /// scrub ordinary words, and no real token is that short.
    pub fn hide<S: Into<String>>(&self, values: impl IntoIterator<Item = S>) {
        if let Ok(mut secrets) = self.secrets.lock() {
            secrets.extend(
                values
                    .into_iter()
                    .map(Into::into)
                    .filter(|s: &String| s.len() >= 4),
            );
            // Longest first: a secret containing another is replaced whole.
            secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    /// Whether results are one JSON line.
    pub fn json(&self) -> bool {
        self.json
    }

    /// `text` with every secret replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        if let Ok(secrets) = self.secrets.lock() {
            for secret in secrets.iter() {
                out = out.replace(secret.as_str(), "***");
            }
        }
        out
    }

    /// Runs `print` with the progress bar (if one is shown) out of the way.
    fn above_bar(&self, print: impl FnOnce()) {
        let bar = self.bar.lock().ok().and_then(|b| b.clone());
        match bar {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }

    /// A result line on stdout.
    pub fn result(&self, text: &str) {
        let text = self.redact(text);
        self.above_bar(|| println!("{text}"));
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
        self.above_bar(|| eprintln!("{text}"));
    }

    /// Shows a byte progress bar of `total` bytes, labelled `message`, on stderr when it is a
    /// terminal (hidden otherwise, and in quiet mode).
    pub fn start_bytes(&self, total: u64, message: &str) -> ProgressBar {
        if self.quiet {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
            .with_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            )
            .with_message(self.redact(message));
        bar.enable_steady_tick(Duration::from_millis(200));
        if let Ok(mut shown) = self.bar.lock() {
            *shown = Some(bar.clone());
        }
        bar
    }

    /// Clears the progress bar.
    pub fn finish_bytes(&self) {
        let bar = self.bar.lock().ok().and_then(|mut b| b.take());
        if let Some(bar) = bar {
            bar.disable_steady_tick();
            bar.finish_and_clear();
        }
    }
}
