//! [`EmulatorError`]: why the emulator could not start.

/// Why the emulator could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum EmulatorError {
    /// Binding the listening socket or starting the runtime failed.
    Io(std::io::Error),
    /// The configuration is invalid (duplicate app version, bad status code, …).
    Config(String),
    /// The matchmaker's configuration JSON was refused (as Edgegap's dashboard refuses it).
    Matchmaker(crate::MatchmakerConfigError),
}

impl std::fmt::Display for EmulatorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EmulatorError::Io(error) => write!(f, "emulator i/o error: {error}"),
            EmulatorError::Config(message) => {
                write!(f, "invalid emulator configuration: {message}")
            }
            EmulatorError::Matchmaker(error) => {
                write!(f, "invalid matchmaker configuration: {error}")
            }
        }
    }
}

impl std::error::Error for EmulatorError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EmulatorError::Io(error) => Some(error),
            EmulatorError::Config(_) => None,
            EmulatorError::Matchmaker(error) => Some(error),
        }
    }
}

impl From<std::io::Error> for EmulatorError {
    fn from(error: std::io::Error) -> Self {
        EmulatorError::Io(error)
    }
}
