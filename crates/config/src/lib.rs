//! Layered configuration: embedded defaults, then an optional TOML file, then environment
//! variables `BONDGATE__SECTION__KEY` (double underscores separate the levels, so
//! `BONDGATE__DATABASE__URL` sets `database.url`).
//!
//! Every section struct says `#[serde(deny_unknown_fields)]`, so a misspelt key is an error, not
//! a silently ignored setting. The root structs of the services do not, because one deployment
//! file or environment may carry the sections of every service. What one field cannot say alone
//! (settings that only make sense together) the root checks in [`Validate`].
//!
//! Environment values are parsed (`true` becomes a boolean, `[a, b]` an array), except those of
//! secret settings (`..._password`), taken verbatim: a password such as `12345` must reach its
//! setting as written, and a type error would print it.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::Path;

/// The configuration could not be assembled.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(String);

/// Checks across settings, run once the configuration is loaded.
pub trait Validate {
    /// Every problem, one sentence each naming the settings involved (never a secret's value);
    /// empty when the configuration is usable.
    fn problems(&self) -> Vec<String>;
}

/// True for the settings whose environment value is taken verbatim (see the module's doc).
fn is_secret(key: &str) -> bool {
    key.rsplit('.')
        .next()
        .is_some_and(|last| last.to_ascii_lowercase().ends_with("password"))
}

/// Loads `T` from its defaults, then `file` (when given), then the environment, then checks it
/// ([`Validate`]). All problems are reported together, one per line.
pub fn load<T>(file: Option<&Path>) -> Result<T, ConfigError>
where
    T: Serialize + DeserializeOwned + Default + Validate,
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
    let env = Env::prefixed("BONDGATE__").split("__");
    let secrets: Vec<(String, String)> = env
        .iter()
        .filter(|(key, _)| is_secret(key.as_str()))
        .map(|(key, value)| (key.as_str().to_owned(), value))
        .collect();
    figment = figment.merge(env.filter(|key| !is_secret(key.as_str())));
    for (key, value) in secrets {
        figment = figment.merge(Serialized::default(&key, value));
    }
    let config: T = figment.extract().map_err(|error| {
        let lines: Vec<String> = error.into_iter().map(|e| e.to_string()).collect();
        ConfigError(lines.join("\n"))
    })?;
    let problems = config.problems();
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError(problems.join("\n")))
    }
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
        admin_password: Option<String>,
    }

    impl Default for Section {
        fn default() -> Self {
            Self {
                size_max: 7,
                name: "x".into(),
                admin_password: None,
            }
        }
    }

    impl super::Validate for Root {
        fn problems(&self) -> Vec<String> {
            if self.section.size_max == 0 {
                vec!["section.size_max must be positive".to_owned()]
            } else {
                Vec::new()
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
                    name: "env".into(),
                    admin_password: None,
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

    #[allow(clippy::result_large_err)]
    #[test]
    fn a_failed_check_is_an_error_listing_the_problem() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("BONDGATE__SECTION__SIZE_MAX", "0");
            let error = load::<Root>(None).expect_err("the check must fail");
            assert!(
                error.to_string().contains("size_max must be positive"),
                "{error}"
            );
            Ok(())
        });
    }

    #[allow(clippy::result_large_err)]
    #[test]
    fn secrets_are_taken_verbatim_from_the_environment() {
        // Parsed, `12345` would be a number, `[a, b]` an array and `true` a boolean: a type
        // error for a string setting, whose message would print the secret.
        for secret in ["12345", "[a, b]", "true", " spaced ", "p@ss:w/rd"] {
            figment::Jail::expect_with(|jail| {
                jail.set_env("BONDGATE__SECTION__ADMIN_PASSWORD", secret);
                jail.set_env("BONDGATE__SECTION__SIZE_MAX", "8");
                let root: Root = load(None).map_err(|e| e.to_string())?;
                assert_eq!(root.section.admin_password.as_deref(), Some(secret));
                assert_eq!(root.section.size_max, 8, "other settings are still parsed");
                Ok(())
            });
        }
    }

    #[test]
    fn missing_file_is_an_error() {
        assert!(load::<Root>(Some(std::path::Path::new("/nonexistent.toml"))).is_err());
    }
}
