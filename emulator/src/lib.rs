//! Edgegap's dedicated-server HTTP API on loopback (filled by its own issue).
