//! Reference data for `check`, `seed` and `export`: the account book and positive list, from the
//! database (what the services decide on, `bondgate_storage::reference`), from CSV files, or from
//! the SAMPLE seed compiled into `bondgate-domain`.

use std::path::Path;

use anyhow::Context;
use bondgate_domain::CsvError;
use bondgate_domain::account_book::AccountBook;
use bondgate_domain::positive_list::PositiveList;
use bondgate_domain::seed::{load_seed_account_book, load_seed_positive_list};
pub use bondgate_storage::reference::ReferenceData;
use serde::Serialize;

use crate::database::DatabaseArgs;
use crate::error::{InputError, read_file};

/// Where the reference data of a run came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Source {
    /// The database's tables, loaded by `bondgate seed`: what intake and clearance use.
    #[serde(rename = "database")]
    Database,
    /// CSV files named on the command line.
    #[serde(rename = "files")]
    Files,
    /// The SAMPLE data compiled in (demos and tests, never a zone's real data).
    #[serde(rename = "sample seed")]
    SampleSeed,
}

/// Loads each table from its file when given, else from the compiled-in SAMPLE seed.
pub fn files_or_sample(
    account_book: Option<&Path>,
    positive_list: Option<&Path>,
) -> Result<ReferenceData, InputError> {
    let account_book = match account_book {
        Some(path) => AccountBook::from_csv(read_file(path)?.as_slice())
            .map_err(|errors| csv_error(path, errors))?,
        // The seed is tested in bondgate-domain; failing here is a build defect.
        None => load_seed_account_book().expect("the seed account book is valid"),
    };
    let positive_list = match positive_list {
        Some(path) => PositiveList::from_csv(read_file(path)?.as_slice())
            .map_err(|errors| csv_error(path, errors))?,
        None => load_seed_positive_list().expect("the seed positive list is valid"),
    };
    Ok(ReferenceData {
        account_book,
        positive_list,
    })
}

/// The SAMPLE seed data.
pub fn sample() -> ReferenceData {
    // Cannot fail on the compiled-in seed: no paths are read.
    files_or_sample(None, None).expect("the seed is valid")
}

/// Loads both tables from the database.
pub async fn from_database(database: &DatabaseArgs) -> anyhow::Result<ReferenceData> {
    let url = database.display_url();
    let db = bondgate_storage::connect(&database.config())
        .await
        .with_context(|| format!("connecting to {url}"))?;
    let data = ReferenceData::load(bondgate_storage::pool(&db))
        .await
        .with_context(|| format!("reading the account book and positive list of {url}"))?;
    db.close().await?;
    Ok(data)
}

fn csv_error(path: &Path, errors: Vec<CsvError>) -> InputError {
    InputError::Csv {
        path: path.to_owned(),
        problems: errors.iter().map(ToString::to_string).collect(),
    }
}
