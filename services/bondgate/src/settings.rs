//! The services' settings a command needs, read as the services read them (embedded defaults,
//! `BONDGATE_CONFIG`, `BONDGATE__SECTION__KEY`): the data key of the stored documents and the
//! customs rules.

use std::path::PathBuf;

use anyhow::Context;
use bondgate_domain::config::RulesConfig;
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
    let security = bondgate_config::load::<SecuritySettings>(config_file().as_deref())?.security;
    security.cipher().context("the data key")
}

/// The `[rules]` section, the one intake, clearance and review read.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct RulesSettings {
    #[serde(default)]
    rules: RulesConfig,
}

// One section, checked field by field by its own `deny_unknown_fields`.
impl bondgate_config::Validate for RulesSettings {
    fn problems(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The customs rules as the services have them configured (`BONDGATE_CONFIG`'s `[rules]`,
/// `BONDGATE__RULES__*`).
pub fn rules() -> anyhow::Result<RulesConfig> {
    Ok(bondgate_config::load::<RulesSettings>(config_file().as_deref())?.rules)
}

/// The services' configuration file, `BONDGATE_CONFIG`, when set (their `--config` flag's
/// variable).
fn config_file() -> Option<PathBuf> {
    std::env::var_os("BONDGATE_CONFIG").map(PathBuf::from)
}
