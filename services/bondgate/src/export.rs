//! `bondgate export`: the signed CEB621 inventory list of a declared order, rebuilt from the
//! stored (encrypted) documents and the declaration's numbers, as the pipeline declared it.

use std::path::PathBuf;

use anyhow::Context;
use bondgate_ceb::sign::{SigningKey, sign};
use bondgate_intake::orders::{InventoryContext, inventory_xml, load};

use crate::database::DatabaseArgs;
use crate::error::{InputError, read_file};
use crate::reference::ReferenceData;

/// Flags of `bondgate export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Platform code of the order (`ebpCode`).
    #[arg(long)]
    pub ebp_code: String,
    /// Order number (`orderNo`).
    #[arg(long)]
    pub order_no: String,
    /// PKCS#8 PEM of the declaring agent's SM2 key; without it a fresh key is generated (tests).
    #[arg(long, value_name = "KEY.pem")]
    pub signing_key: Option<PathBuf>,
    /// Name put in the signature's KeyInfo.
    #[arg(long, default_value = "bondgate")]
    pub key_name: String,
    /// Customs office of the declarations (as the clearance service's `customs_code`).
    #[arg(long, default_value = "8012")]
    pub customs_code: String,
    /// Write here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Where the database is.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Exports one order's signed CEB621.
pub async fn run(args: ExportArgs) -> anyhow::Result<()> {
    let key = signing_key(args.signing_key.as_deref())?;
    // The data key comes from the same settings the services use (BONDGATE__SECURITY__*).
    let cipher = crate::settings::data_cipher()?;
    let db = bondgate_storage::connect(&args.database.config()).await?;
    let pool = bondgate_storage::pool(&db);
    // The rebuild needs the lines' items: the database's, which the pipeline declared with.
    let reference = ReferenceData::load(pool)
        .await
        .context("reading the account book and positive list")?;
    let record = load(pool, &cipher, &args.ebp_code, &args.order_no)
        .await
        .map_err(|error| anyhow::anyhow!("{error:?}"))?
        .ok_or_else(|| InputError::Value {
            flag: "--order-no",
            detail: format!("no order {}/{} is stored", args.ebp_code, args.order_no),
        })?;
    let context = InventoryContext {
        account_book: &reference.account_book,
        positive_list: &reference.positive_list,
        customs_code: &args.customs_code,
        cipher: &cipher,
    };
    // The rebuilt list is a declaration (appStatus 2), which must carry its signature.
    let unsigned =
        inventory_xml(&record, &context).map_err(|error| anyhow::anyhow!("{error:?}"))?;
    let signed = sign(&unsigned, &key, &args.key_name).context("signing")?;
    match &args.out {
        Some(path) => {
            std::fs::write(path, signed).with_context(|| format!("writing {}", path.display()))?
        }
        None => println!("{signed}"),
    }
    Ok(())
}

fn signing_key(path: Option<&std::path::Path>) -> anyhow::Result<SigningKey> {
    match path {
        Some(path) => {
            let pem = read_file(path)?;
            let pem = String::from_utf8(pem).context("the key file is not UTF-8 PEM")?;
            SigningKey::from_pkcs8_pem(&pem).map_err(|error| anyhow::anyhow!("{error}"))
        }
        None => {
            eprintln!(
                "bondgate: no --signing-key: signed with a freshly generated key (for tests only)"
            );
            SigningKey::generate().map_err(|error| anyhow::anyhow!("{error}"))
        }
    }
}
