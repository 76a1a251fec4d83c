//! Layered configuration: embedded defaults, then an optional TOML file, then environment
//! variables `BONDGATE__SECTION__KEY` (double underscores separate the levels, so
//! `BONDGATE__DATABASE__URL` sets `database.url`).
//!
//! Every section struct says `#[serde(deny_unknown_fields)]`, so a misspelt key is an error, not
//! a silently ignored setting. The root structs of the services do not, because one deployment
//! file or environment may carry the sections of every service.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::Path;

/// The configuration could not be assembled.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(String);

/// Loads `T` from its defaults, then `file` (when given), then the environment.
/// All problems are reported together, one per line.
pub fn load<T>(file: Option<&Path>) -> Result<T, ConfigError>
where
    T: Serialize + DeserializeOwned + Default,
{
    let mut figment = Figment::from(Serialized::defaults(T::default()));
    if let Some(path) = file {
        if !path.exists() {
            return Err(ConfigError(format!(
                "config file {} does not exist",
                path.display()
            )));
        }
        figment = figment.merge(Toml::file(path));
    }
    figment = figment.merge(Env::prefixed("BONDGATE__").split("__"));
    figment.extract().map_err(|error| {
        let lines: Vec<String> = error.into_iter().map(|e| e.to_string()).collect();
        ConfigError(lines.join("\n"))
    })
}

#[cfg(test)]
mod tests {
    use super::load;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
    struct Root {
        #[serde(default)]
        section: Section,
    }

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, default)]
    struct Section {
        size_max: u32,
        name: String,
    }

    impl Default for Section {
        fn default() -> Self {
            Self {
                size_max: 7,
                name: "x".into(),
            }
        }
    }

    // figment's `Jail` closures must return its large `figment::Error`: not ours to shrink.
    #[allow(clippy::result_large_err)]
    #[test]
    fn env_overrides_file_overrides_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("c.toml", "[section]\nsize_max = 9\nname = \"file\"")?;
            jail.set_env("BONDGATE__SECTION__NAME", "env");
            let root: Root =
                load(Some(std::path::Path::new("c.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(
                root.section,
                Section {
                    size_max: 9,
                    name: "env".into()
                }
            );
            Ok(())
        });
    }

    #[allow(clippy::result_large_err)]
    #[test]
    fn unknown_key_in_a_section_is_an_error() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("BONDGATE__SECTION__SIZE_MAXX", "3");
            let error = load::<Root>(None).expect_err("a misspelt key must fail");
            assert!(error.to_string().contains("size_maxx"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn missing_file_is_an_error() {
        assert!(load::<Root>(Some(std::path::Path::new("/nonexistent.toml"))).is_err());
    }
}
