//! Server plugin (filled by its own issue).
