//! `bondgate dxp wrap|unwrap` on our own fixtures; no database needed.

use crate::helpers::{Run, bondgate, fixture};

const SENDER: &str = "DXPENT0000000001";
const RECEIVER: &str = "DXPEDCCEB0000001";
const TIME: &str = "2024-06-01T12:00:00";

/// `bondgate dxp wrap` of the clean order from `sender` to [`RECEIVER`], with `extra` flags.
fn wrap(sender: &str, extra: &[&str]) -> Run {
    let order = fixture("clean", "order.xml");
    let mut args = vec![
        "dxp",
        "wrap",
        "--sender-id",
        sender,
        "--receiver-id",
        RECEIVER,
    ];
    args.extend_from_slice(extra);
    args.push(order.to_str().expect("UTF-8 path"));
    bondgate(&args)
}

/// Writes `text` to a file in `dir` and returns its path as a string.
fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write");
    path.to_str().expect("UTF-8 path").to_owned()
}

#[test]
fn wrap_then_unwrap_gives_back_the_order_byte_for_byte() {
    // Goal: the envelope carries the file unchanged, and the header says who, to whom, what.
    // Method: wrap the clean order, unwrap the printed envelope, compare with the file; read the
    // header as JSON.
    let run = wrap(
        SENDER,
        &["--creat-time", TIME, "--file-name", "order-1.xml"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DxpMsg "),
        "{run:?}"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let envelope = write(&dir, "envelope.xml", &run.stdout);

    let unwrapped = bondgate(&["dxp", "unwrap", &envelope]);
    assert_eq!(unwrapped.code, 0, "{unwrapped:?}");
    let original = std::fs::read_to_string(fixture("clean", "order.xml")).expect("fixture");
    assert_eq!(unwrapped.stdout, original);

    let header = bondgate(&["dxp", "unwrap", "--header", &envelope]);
    assert_eq!(header.code, 0, "{header:?}");
    let header = header.json();
    assert_eq!(header["senderId"], SENDER);
    assert_eq!(header["receiverIds"], serde_json::json!([RECEIVER]));
    assert_eq!(header["creatTime"], TIME);
    assert_eq!(header["msgType"], "CEB311Message");
    assert_eq!(header["addInfo"]["fileName"], "order-1.xml");
    assert_eq!(header["signed"], false);
    assert_eq!(header["copMsgId"].as_str().map(str::len), Some(36));
}

/// The text of the first `<tag>` of an envelope.
fn element(run: &Run, tag: &str) -> String {
    assert_eq!(run.code, 0, "{run:?}");
    let open = format!("<{tag}>");
    let start = run.stdout.find(&open).expect("the element") + open.len();
    let end = run.stdout.find(&format!("</{tag}>")).expect("its end");
    run.stdout[start..end].to_owned()
}

#[test]
fn the_cop_msg_id_is_stable_unless_given_and_creat_time_defaults_to_now() {
    // Goal: wrapping the same message for the same route twice gives the same CopMsgId (only
    // CreatTime, now, may differ), and the flag overrides it; the default CreatTime has the
    // spec's form. Method: wrap twice without --creat-time, then with --cop-msg-id.
    let first = wrap(SENDER, &[]);
    let id = element(&first, "CopMsgId");
    assert_eq!(id.len(), 36, "{first:?}");
    assert_eq!(element(&wrap(SENDER, &[]), "CopMsgId"), id);
    assert_ne!(element(&wrap("DXPENT0000000002", &[]), "CopMsgId"), id);
    assert_eq!(
        element(&wrap(SENDER, &["--cop-msg-id", "MY-ID-1"]), "CopMsgId"),
        "MY-ID-1"
    );
    let now = element(&first, "CreatTime");
    let shape: String = now
        .chars()
        .map(|c| if c.is_ascii_digit() { 'd' } else { c })
        .collect();
    assert_eq!(shape, "dddd-dd-ddTdd:dd:dd", "{now}");
}

#[test]
fn refused_values_and_envelopes_exit_2_with_code_path_and_dxp_code() {
    // Goal: what the DXP XSD or the spec refuses is unusable input, one stderr line naming the
    // code, the path and the DXP error code. Method: a 17-character sender id; a CEB message
    // given to unwrap; an envelope whose MsgType was edited.
    let run = wrap("DXPENT00000000001", &[]);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
    assert!(
        run.stderr.starts_with(
            "bondgate: dxp.invalid_field at /DxpMsg/TransInfo/SenderId: has 17 characters"
        ),
        "{run:?}"
    );
    assert!(run.stderr.contains("(DXP 0002, file "), "{run:?}");

    let order = fixture("clean", "order.xml");
    let run = bondgate(&["dxp".as_ref(), "unwrap".as_ref(), order.as_os_str()]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .starts_with("bondgate: dxp.not_envelope at /CEB311Message: "),
        "{run:?}"
    );
    assert!(run.stderr.contains("(DXP 0001, file "), "{run:?}");

    let envelope = wrap(SENDER, &[]).stdout.replace(
        "<MsgType>CEB311Message</MsgType>",
        "<MsgType>CEB621Message</MsgType>",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let run = bondgate(&["dxp", "unwrap", &write(&dir, "edited.xml", &envelope)]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.starts_with(
            "bondgate: dxp.msg_type_mismatch at /DxpMsg/TransInfo/MsgType: MsgType is \
             \"CEB621Message\" but the business message is a CEB311Message (DXP 0999, file "
        ),
        "{run:?}"
    );
}
