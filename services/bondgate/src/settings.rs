//! The services' settings a command needs, read as the services read them (embedded defaults,
//! `BONDGATE_CONFIG`, `BONDGATE__SECTION__KEY`): today the data key of the stored documents.

use anyhow::Context;
use bondgate_storage::crypto::{PayloadCipher, SecurityConfig};

/// The `[security]` section.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct SecuritySettings {
    #[serde(default)]
    security: SecurityConfig,
}

// The keys are checked when used (`cipher`): nothing spans two settings here.
impl bondgate_config::Validate for SecuritySettings {
    fn problems(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The cipher of stored documents and dead letters (`security.data_key_hex`).
pub fn data_cipher() -> anyhow::Result<PayloadCipher> {
    let security = bondgate_config::load::<SecuritySettings>(None)?.security;
    security.cipher().context("the data key")
}
