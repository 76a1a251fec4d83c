//! Reference data for `check` and `seed`: the account book and positive list, from CSV files or
//! the SAMPLE seed compiled into `bondgate-domain`.

use std::path::Path;

use bondgate_domain::CsvError;
use bondgate_domain::account_book::AccountBook;
use bondgate_domain::positive_list::PositiveList;
use bondgate_domain::seed::{load_seed_account_book, load_seed_positive_list};

use crate::error::{InputError, read_file};

/// The account book and positive list the rules run against.
#[derive(Debug)]
pub struct Reference {
    /// The zone warehouse's account book.
    pub account_book: AccountBook,
    /// The positive list.
    pub positive_list: PositiveList,
}

impl Reference {
    /// Loads each table from its file when given, else from the compiled-in seed.
    pub fn load(
        account_book: Option<&Path>,
        positive_list: Option<&Path>,
    ) -> Result<Self, InputError> {
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
        Ok(Self {
            account_book,
            positive_list,
        })
    }
}

fn csv_error(path: &Path, errors: Vec<CsvError>) -> InputError {
    InputError::Csv {
        path: path.to_owned(),
        problems: errors.iter().map(ToString::to_string).collect(),
    }
}
