//! `bondgate export`: the CEB621 inventory list of a declared order, exactly as the pipeline
//! declared and stored it, signed.

use std::path::PathBuf;

use anyhow::Context;
use bondgate_ceb::sign::{SigningKey, sign};
use bondgate_intake::orders::{inventory_xml, load};

use crate::database::DatabaseArgs;
use crate::error::{InputError, read_file};

/// Flags of `bondgate export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Platform code of the order (`ebpCode`).
    #[arg(long)]
    pub ebp_code: String,
    /// Order number (`orderNo`).
    #[arg(long)]
    pub order_no: String,
    /// PKCS#8 PEM of the declaring agent's SM2 key, used when the stored CEB621 is unsigned
    /// (clearance without `signing_key_path`); without it a fresh key is generated (tests).
    #[arg(long, value_name = "KEY.pem")]
    pub signing_key: Option<PathBuf>,
    /// Name put in the signature's KeyInfo.
    #[arg(long, default_value = "bondgate")]
    pub key_name: String,
    /// Write here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Where the database is.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Exports one order's CEB621 exactly as it was declared: the stored bytes, with a signature
/// added when clearance stored it unsigned.
pub async fn run(args: ExportArgs) -> anyhow::Result<()> {
    // The data key comes from the same settings the services use (BONDGATE__SECURITY__*).
    let cipher = crate::settings::data_cipher()?;
    let db = bondgate_storage::connect(&args.database.config()).await?;
    let pool = bondgate_storage::pool(&db);
    let record = load(pool, &cipher, &args.ebp_code, &args.order_no)
        .await
        .map_err(|error| anyhow::anyhow!("{error:?}"))?
        .ok_or_else(|| InputError::Value {
            flag: "--order-no",
            detail: format!("no order {}/{} is stored", args.ebp_code, args.order_no),
        })?;
    let stored = inventory_xml(pool, &cipher, &record)
        .await
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    // A declaration (appStatus 2) must carry its signature: sign what clearance did not.
    let signed = if is_signed(&stored) {
        stored
    } else {
        let key = signing_key(args.signing_key.as_deref())?;
        sign(&stored, &key, &args.key_name).context("signing")?
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, signed).with_context(|| format!("writing {}", path.display()))?
        }
        None => println!("{signed}"),
    }
    Ok(())
}

/// Whether the CEB621 already carries an XML-DSig signature.
fn is_signed(xml: &str) -> bool {
    xml.contains("SignatureValue>")
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
