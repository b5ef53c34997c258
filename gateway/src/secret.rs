//! Comparing secrets (the organisation token, webhook secrets, record MACs) without leaking
//! where they differ through timing. A leaf: it imports nothing from the crate.

/// Whether a presented secret equals `secret`, in time independent of where they differ.
pub(crate) fn same_secret(presented: &[u8], secret: &[u8]) -> bool {
    presented.len() == secret.len()
        && presented
            .iter()
            .zip(secret)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}
