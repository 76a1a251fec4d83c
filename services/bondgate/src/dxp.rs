//! `bondgate dxp wrap|unwrap`: the DXP envelope (`DxpMsg`) the customs single window exchanges
//! CEB messages in, by hand: wrap a message for the enterprise client's out-box, or look inside
//! an envelope from its in-box.
//!
//! Both use the codec's [`bondgate_ceb::dxp`] with the default [`Limits`]; a refused file is
//! unusable input (exit 2) whose message carries the `dxp.*` (or `ceb.*`) code, the path in the
//! envelope and the DXP error code of the spec's table 7-1.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use bondgate_ceb::Limits;
use bondgate_ceb::dxp::{self, CREAT_TIME_FORMAT, DxpError, DxpHeader};

use crate::declare::beijing_now;
use crate::error::{InputError, read_file};

/// `bondgate dxp ...`: the DXP transport envelope.
#[derive(Debug, clap::Args)]
pub struct DxpArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: DxpCommand,
}

/// The `dxp` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum DxpCommand {
    /// Wrap a CEB message in a DxpMsg envelope and print the envelope. MsgType is the message's
    /// root element; exit 2 if the file is not a CEB message or a value breaks the DXP XSD.
    Wrap(WrapArgs),
    /// Print the CEB message inside a DxpMsg envelope, byte for byte (or its header as JSON);
    /// exit 2 if the envelope is refused.
    Unwrap {
        /// Print the header (TransInfo and AddInfo) as pretty JSON instead of the message.
        #[arg(long)]
        header: bool,
        /// The envelope file.
        file: PathBuf,
    },
}

/// `bondgate dxp wrap`: who sends, to whom, and the message.
#[derive(Debug, clap::Args)]
pub struct WrapArgs {
    /// The sender's DXP node id (SenderId, 1 to 16 characters), e.g. DXPENT0000000001.
    #[arg(long)]
    pub sender_id: String,
    /// A receiver's DXP node id (ReceiverId); repeat the flag for up to 5 receivers.
    #[arg(long = "receiver-id", value_name = "RECEIVER_ID", required = true)]
    pub receiver_ids: Vec<String>,
    /// CopMsgId (1 to 255 characters). Default: derived from the message, the sender and the
    /// receivers, so wrapping the same message for the same route again gives the same id.
    #[arg(long)]
    pub cop_msg_id: Option<String>,
    /// AddInfo/FileName, the original file name (1 to 255 characters). Default: no AddInfo.
    #[arg(long)]
    pub file_name: Option<String>,
    /// CreatTime, yyyy-mm-ddThh:mm:ss. Default: now, in Beijing time (UTC+8).
    #[arg(long)]
    pub creat_time: Option<String>,
    /// The CEB message file (UTF-8, GB2312/GBK/GB18030); it is wrapped unchanged.
    pub file: PathBuf,
}

/// Runs `bondgate dxp ...`.
pub fn run(args: DxpArgs) -> anyhow::Result<()> {
    match args.command {
        DxpCommand::Wrap(args) => {
            println!("{}", wrap_file(&args)?);
            Ok(())
        }
        DxpCommand::Unwrap { header, file } => {
            let (read, message) = unwrap_file(&file)?;
            let mut stdout = std::io::stdout().lock();
            if header {
                serde_json::to_writer_pretty(&mut stdout, &read)?;
                writeln!(stdout)?;
            } else {
                // The message's own bytes: it may be GBK, and a script may compare it.
                stdout.write_all(&message)?;
            }
            stdout.flush()?;
            Ok(())
        }
    }
}

/// The envelope of the message in `args.file`, with the header the flags describe.
pub fn wrap_file(args: &WrapArgs) -> Result<String, InputError> {
    let message = read_file(&args.file)?;
    let creat_time = args
        .creat_time
        .clone()
        .unwrap_or_else(|| beijing_now().format(CREAT_TIME_FORMAT).to_string());
    let refuse = |source| refused(&args.file, source);
    let mut header =
        DxpHeader::for_message(&message, &args.sender_id, &args.receiver_ids, &creat_time)
            .map_err(refuse)?;
    if let Some(id) = &args.cop_msg_id {
        header = header.with_cop_msg_id(id);
    }
    if let Some(name) = &args.file_name {
        header = header.with_file_name(name);
    }
    dxp::wrap(&message, &header).map_err(refuse)
}

/// The header and the business message of the envelope in `file`, with the default limits.
pub fn unwrap_file(file: &Path) -> Result<(DxpHeader, Vec<u8>), InputError> {
    let envelope = read_file(file)?;
    dxp::unwrap(&envelope, &Limits::default()).map_err(|source| refused(file, source))
}

fn refused(file: &Path, source: DxpError) -> InputError {
    InputError::NotDxp {
        path: file.to_owned(),
        source,
    }
}
