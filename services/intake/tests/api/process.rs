//! The real `bondgate-intake` binary under issue 14's hostile CEB XML, measured from outside as
//! an operator would: the answer, the peak resident memory (`VmHWM`), the CPU time the process
//! keeps using (`/proc/<pid>/stat`), and how fast SIGTERM stops it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{EBC, order, order_xml, prepare};

const MIB: u64 = 1024 * 1024;
/// Half of the 512 MiB a Kubernetes pod of intake may use.
const PEAK_RSS_BYTES_MAX: u64 = 256 * MIB;
/// `USER_HZ`, the unit of the CPU times in `/proc/<pid>/stat` on every Linux ABI.
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;
/// "Answered at once": the only timing this suite asserts, and generous.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

const CEB_NAMESPACE: &str = "http://www.chinaport.gov.cn/ceb";

/// Caps raised far beyond the defaults, so that [`slow_body`] takes minutes of CPU: a stand-in
/// for any parse that outlives its request.
const RAISED_CAPS: [(&str, &str); 2] = [
    ("XML_ATTRIBUTES_MAX", "100000"),
    ("XML_ELEMENTS_MAX", "100000000"),
];
/// A request timeout that the tests' slow parses never reach on their own.
const LONG_TIMEOUT: (&str, &str) = ("REQUEST_TIMEOUT_MS", "60000");

/// A running `bondgate-intake` with its own database and topic; killed when dropped.
struct Intake {
    child: Child,
    address: String,
    key: String,
    log: PathBuf,
    http: reqwest::Client,
}

impl Intake {
    /// Starts the binary with `settings` as `BONDGATE__INTAKE__<NAME>` variables and waits until
    /// it listens.
    async fn start(settings: &[(&str, &str)]) -> Self {
        let prepared = prepare(false).await;
        let key = prepared
            .keys
            .iter()
            .find(|(code, _)| code == EBC)
            .map(|(_, key)| key.clone())
            .expect("a key of the seller");
        let log = std::env::temp_dir().join(format!("{}.intake.log", prepared.topic));
        let file = std::fs::File::create(&log).expect("a log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_bondgate-intake"));
        command
            .env("BONDGATE__DATABASE__URL", &prepared.url)
            .env("BONDGATE__DATABASE__MAX_CONNECTIONS", "4")
            .env("BONDGATE__KAFKA__BROKERS", &prepared.kafka.brokers)
            .env("BONDGATE__KAFKA__TOPICS__DOCUMENTS", &prepared.topic)
            .env("BONDGATE__INTAKE__LISTEN_ADDRESS", "127.0.0.1:0")
            .env("BONDGATE__INTAKE__OPS_LISTEN_ADDRESS", "127.0.0.1:0")
            .env("RUST_LOG", "info")
            .env("BONDGATE_LOG_FORMAT", "json");
        for (name, value) in settings {
            command.env(format!("BONDGATE__INTAKE__{name}"), value);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::from(file.try_clone().expect("a log handle")))
            .stderr(Stdio::from(file))
            .spawn()
            .expect("bondgate-intake starts");
        let mut intake = Self {
            child,
            address: String::new(),
            key,
            log,
            http: reqwest::Client::builder()
                .timeout(ANSWER_TIMEOUT)
                .build()
                .expect("an HTTP client"),
        };
        intake.address = intake.listening_address().await;
        intake
    }

    /// The address from the `intake listening` log line.
    async fn listening_address(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(address) = logged_address(&self.log) {
                return address;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("intake exited with {status}: {}", self.log_text());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("intake did not listen within 60 s: {}", self.log_text());
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A `kB` field of `/proc/<pid>/status`, in bytes.
    fn status_bytes(&self, field: &str) -> u64 {
        let path = format!("/proc/{}/status", self.child.id());
        let status = std::fs::read_to_string(path).expect("the process's status");
        let kib: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("{field} in /proc/<pid>/status"));
        kib * 1024
    }

    /// User plus system CPU time of all the process's threads so far.
    fn cpu_seconds(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
            .expect("the process's stat");
        // Fields after the command name, which is in parentheses and may hold spaces: state is
        // field 3 of proc(5), utime 14 and stime 15.
        let fields: Vec<&str> = stat[stat.rfind(')').expect("(comm)") + 2..]
            .split(' ')
            .collect();
        let ticks: u64 =
            fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
        ticks as f64 / CLOCK_TICKS_PER_SECOND
    }

    /// CPU seconds the process uses over the next `period`.
    async fn cpu_used_over(&self, period: Duration) -> f64 {
        let before = self.cpu_seconds();
        tokio::time::sleep(period).await;
        self.cpu_seconds() - before
    }

    /// Waits until the process has used `seconds` of CPU more than at `start_cpu`: a parse in
    /// flight. Fails when that does not happen within 60 s.
    async fn wait_until_busy(&self, start_cpu: f64, seconds: f64) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.cpu_seconds() - start_cpu < seconds {
            assert!(
                Instant::now() < deadline,
                "intake never got busy: the slow body parsed too fast to test anything"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `POST /v1/ceb` as the seller, through reqwest.
    async fn post_ceb(&self, body: Vec<u8>) -> reqwest::Result<reqwest::Response> {
        self.http
            .post(format!("http://{}/v1/ceb", self.address))
            .header("content-type", "application/xml")
            .bearer_auth(&self.key)
            .body(body)
            .send()
            .await
    }

    /// Sends a whole `POST /v1/ceb` over a plain socket and returns it unread, so that a test can
    /// hang up while the service works on it.
    async fn send_raw(&self, body: &[u8]) -> TcpStream {
        let mut stream = TcpStream::connect(&self.address)
            .await
            .expect("a connection");
        let head = format!(
            "POST /v1/ceb HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/xml\r\nContent-Length: {}\r\n\r\n",
            self.address,
            self.key,
            body.len()
        );
        stream.write_all(head.as_bytes()).await.expect("the head");
        stream.write_all(body).await.expect("the body");
        stream
    }

    /// A valid order is accepted: the service is free again.
    async fn accepts_a_valid_order(&self, order_no: &str) {
        let response = self
            .post_ceb(order_xml(&[order(order_no)]).into_bytes())
            .await
            .unwrap_or_else(|e| panic!("a valid order unanswered within {ANSWER_TIMEOUT:?}: {e}"));
        assert_eq!(
            response.status(),
            202,
            "{}",
            response.text().await.unwrap_or_default()
        );
    }

    /// Sends SIGTERM (to this test's own child, by its id).
    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }
}

impl Drop for Intake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

fn logged_address(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|record| record["message"] == "intake listening")
        .and_then(|record| record["address"].as_str().map(str::to_owned))
}

fn message(inner: &str) -> Vec<u8> {
    format!(
        "<ceb:CEB311Message xmlns:ceb=\"{CEB_NAMESPACE}\" guid=\"g\" version=\"1.0\">{inner}\
         </ceb:CEB311Message>"
    )
    .into_bytes()
}

/// Issue 14's body: one element with a 1 MiB name holding two million empty children (~10 MB).
fn huge_name_body() -> Vec<u8> {
    let name = "N".repeat(1 << 20);
    message(&format!("<{name}>{}</{name}>", "<x/>".repeat(2_000_000)))
}

/// Two million empty children under an ordinary name (~8 MB).
fn tiny_children_body() -> Vec<u8> {
    message(&format!("<Order>{}</Order>", "<x/>".repeat(2_000_000)))
}

/// A million nested elements (~7 MB).
fn deep_body() -> Vec<u8> {
    message(&format!(
        "{}{}",
        "<x>".repeat(1_000_000),
        "</x>".repeat(1_000_000)
    ))
}

/// A message that is slow to read but breaks no cap once [`RAISED_CAPS`] are in force: four
/// nested elements bind 5,000 namespace prefixes each after the root's default namespace, so
/// finding the default namespace of each of the 1.5 million unprefixed children inside them
/// searches 20,000 bindings (quick-xml searches from the innermost): tens of billions of
/// comparisons, minutes of CPU. The bindings are spread over four elements so that quick-xml's
/// duplicate-attribute check, quadratic per element, stays a fraction of a second.
fn slow_body() -> Vec<u8> {
    let bindings = |level: usize| -> String {
        (0..5_000)
            .map(|i| format!(" xmlns:p{level}x{i}=\"urn:p{i}\""))
            .collect()
    };
    format!(
        "<ceb:CEB311Message xmlns=\"urn:slow\" xmlns:ceb=\"{CEB_NAMESPACE}\" guid=\"g\" \
         version=\"1.0\"{}><w{}><w{}><w{}>{}</w></w></w></ceb:CEB311Message>",
        bindings(0),
        bindings(1),
        bindings(2),
        bindings(3),
        "<a/>".repeat(1_500_000)
    )
    .into_bytes()
}

#[tokio::test]
async fn hostile_bodies_get_their_cap_within_bounded_memory_and_the_next_order_is_accepted() {
    // Goal: issue 14's attack and its cousins are refused with the cap they hit (422 with the
    // cap's code), the process's peak resident memory stays under 256 MiB, and the next valid
    // order is accepted at once. Method: the real binary with default settings; each body is
    // sent in turn, then VmHWM is read from /proc and a valid CEB311 is posted.
    let intake = Intake::start(&[]).await;
    let baseline = intake.status_bytes("VmRSS");
    let bodies = [
        (
            "1 MiB name, 2,000,000 children",
            huge_name_body(),
            "ceb.name_too_long",
        ),
        (
            "2,000,000 tiny children",
            tiny_children_body(),
            "ceb.too_many_elements",
        ),
        ("1,000,000 nested elements", deep_body(), "ceb.too_deep"),
    ];
    for (name, body, code) in bodies {
        let size = body.len();
        let started = Instant::now();
        let response = intake.post_ceb(body).await.expect("an answer");
        let status = response.status().as_u16();
        let answer: Value = response.json().await.expect("a JSON error body");
        eprintln!(
            "{name} ({size} bytes): {status} {} in {:?}",
            answer["error"]["code"],
            started.elapsed()
        );
        assert!(status == 413 || status == 422, "{name}: {status} {answer}");
        assert_eq!(answer["error"]["code"], code, "{name}: {answer}");
        assert_eq!(answer["problems"][0]["code"], code, "{name}: {answer}");
    }
    let peak = intake.status_bytes("VmHWM");
    eprintln!(
        "peak RSS {:.1} MiB (baseline {:.1} MiB)",
        peak as f64 / MIB as f64,
        baseline as f64 / MIB as f64
    );
    assert!(peak < PEAK_RSS_BYTES_MAX, "peak RSS {peak} bytes");
    intake.accepts_a_valid_order("H-1").await;
}

#[tokio::test]
async fn a_client_hanging_up_mid_parse_leaves_no_core_busy() {
    // Goal: when the client disconnects, its parse stops: the process's CPU time stops growing
    // and the parse slot is free again. Method: with the caps raised and one parse slot, send a
    // body that takes minutes to read over a plain socket, wait until the process has used a
    // second of CPU on it, hang up, then measure the CPU the process uses over two seconds and
    // post a valid order, which needs the only slot.
    let settings = [
        RAISED_CAPS.as_slice(),
        &[LONG_TIMEOUT, ("XML_PARSES_MAX", "1")],
    ]
    .concat();
    let intake = Intake::start(&settings).await;
    let body = slow_body();
    let start_cpu = intake.cpu_seconds();
    let stream = intake.send_raw(&body).await;
    intake.wait_until_busy(start_cpu, 1.0).await;
    drop(stream);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let used = intake.cpu_used_over(Duration::from_secs(2)).await;
    eprintln!("CPU used in the 2 s after hanging up (+1 s): {used:.2} s");
    assert!(used < 0.3, "{used} s of CPU after the client hung up");
    intake.accepts_a_valid_order("H-2").await;
}

#[tokio::test]
async fn the_request_timeout_abandons_a_parse() {
    // Goal: a parse still running when the request timeout answers 503 stops too. Method: with
    // the caps raised and a 2 s request timeout, post a body that takes minutes to read; the
    // answer must be 503 `bg.request.timeout`, after which the CPU time stops growing.
    let settings = [RAISED_CAPS.as_slice(), &[("REQUEST_TIMEOUT_MS", "2000")]].concat();
    let intake = Intake::start(&settings).await;
    let response = intake.post_ceb(slow_body()).await.expect("an answer");
    assert_eq!(response.status(), 503);
    let answer: Value = response.json().await.expect("a JSON error body");
    assert_eq!(answer["error"]["code"], "bg.request.timeout", "{answer}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let used = intake.cpu_used_over(Duration::from_secs(2)).await;
    eprintln!("CPU used in the 2 s after the timeout (+1 s): {used:.2} s");
    assert!(used < 0.3, "{used} s of CPU after the request timed out");
}

#[tokio::test]
async fn sigterm_mid_parse_stops_intake_within_seconds() {
    // Goal: SIGTERM stops intake promptly even while it parses: the parse gives up, its request
    // gets 503 `bg.service.stopping`, and the process exits cleanly. Method: with the caps raised,
    // send a body that takes minutes to read, wait until the process has used a second of CPU
    // on it, send SIGTERM, then time the exit and read the answer off the socket.
    let settings = [RAISED_CAPS.as_slice(), &[LONG_TIMEOUT]].concat();
    let mut intake = Intake::start(&settings).await;
    let body = slow_body();
    let start_cpu = intake.cpu_seconds();
    let mut stream = intake.send_raw(&body).await;
    intake.wait_until_busy(start_cpu, 1.0).await;
    intake.terminate();
    let signalled = Instant::now();
    let status = loop {
        if let Some(status) = intake.child.try_wait().expect("the child's status") {
            break status;
        }
        assert!(
            signalled.elapsed() < ANSWER_TIMEOUT,
            "intake still running {ANSWER_TIMEOUT:?} after SIGTERM: {}",
            intake.log_text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    eprintln!(
        "intake exited {:?} after SIGTERM: {status}",
        signalled.elapsed()
    );
    assert!(status.success(), "{status}: {}", intake.log_text());
    let mut answer = String::new();
    let read = tokio::time::timeout(ANSWER_TIMEOUT, stream.read_to_string(&mut answer)).await;
    assert!(read.is_ok(), "no answer on the socket");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("bg.service.stopping"), "{answer}");
}
