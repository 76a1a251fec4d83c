//! `bondgate ceb parse FILE`: shows what the codec reads from a CEB message, as JSON.
//!
//! The output is the raw model (every field the element's text, names as in the XSD), so a
//! merchant can see exactly what bondgate will check before any business rule runs.

use std::path::{Path, PathBuf};

use bondgate_ceb::{CebMessage, Limits, parse_message};
use serde::Serialize;
use serde_json::Value;

use crate::error::{InputError, read_file};

/// `bondgate ceb ...`: tools for single CEB messages.
#[derive(Debug, clap::Args)]
pub struct CebArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: CebCommand,
}

/// The `ceb` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum CebCommand {
    /// Parse a CEB message and print it as pretty JSON; exit 2 if it is not a valid message.
    Parse {
        /// The message file (UTF-8, GB2312/GBK/GB18030).
        file: PathBuf,
    },
}

/// The JSON shape of a parsed message: the root element's name and attributes first, then the
/// business records, then the transfer blocks of declarations.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ParsedMessage {
    message: &'static str,
    guid: Value,
    version: Value,
    records: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    base_transfer: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    base_subscribes: Option<Value>,
    signed: Value,
}

/// Reads and parses one CEB message file with the default [`Limits`].
pub fn read_message(path: &Path) -> Result<CebMessage, InputError> {
    let bytes = read_file(path)?;
    parse_message(&bytes, &Limits::default()).map_err(|source| InputError::NotCeb {
        path: path.to_owned(),
        source,
    })
}

/// The JSON of a parsed message: `{"message": "CEB311Message", "guid", "version", "records",
/// "baseTransfer", "baseSubscribes", "signed"}`.
pub fn message_json(message: &CebMessage) -> Result<Value, serde_json::Error> {
    // Every variant serializes as `{"Ceb311": {guid, version, records, ...}}`; taking the inner
    // object keeps this independent of the 19 message types.
    let mut inner = match serde_json::to_value(message)? {
        Value::Object(outer) => outer.into_iter().next().map(|(_, v)| v),
        _ => None,
    }
    .unwrap_or(Value::Null);
    let mut take = |key: &str| inner.as_object_mut().and_then(|o| o.remove(key));
    let parsed = ParsedMessage {
        message: message.root_name(),
        guid: take("guid").unwrap_or(Value::Null),
        version: take("version").unwrap_or(Value::Null),
        records: take("records").unwrap_or(Value::Null),
        base_transfer: take("base_transfer"),
        base_subscribes: take("base_subscribes"),
        signed: take("signed").unwrap_or(Value::Null),
    };
    serde_json::to_value(parsed)
}

/// Runs `bondgate ceb ...`.
pub fn run(args: CebArgs) -> anyhow::Result<()> {
    match args.command {
        CebCommand::Parse { file } => {
            let message = read_message(&file)?;
            let json = message_json(&message)?;
            println!("{}", serde_json::to_string_pretty(&json)?);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_name_and_records_lead_the_json() {
        let xml = r#"<CEB622Message xmlns="http://www.chinaport.gov.cn/ceb" guid="g" version="1.0">
          <InventoryReturn><guid>g</guid><copNo>c</copNo><preNo>p</preNo>
          <returnStatus>800</returnStatus><returnTime>20240301120001123</returnTime>
          <returnInfo>放行</returnInfo></InventoryReturn></CEB622Message>"#;
        let message = parse_message(xml.as_bytes(), &Limits::default()).unwrap();
        let json = message_json(&message).unwrap();
        assert_eq!(json["message"], "CEB622Message");
        assert_eq!(json["guid"], "g");
        assert_eq!(json["records"][0]["returnStatus"], "800");
        assert!(json.get("baseTransfer").is_none());
    }
}
