//! Client plugin (filled by its own issue).
