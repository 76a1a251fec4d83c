//! CEB XML parsing off the async runtime: a bounded number of parses at a time, each on a
//! blocking thread, each abandoned as soon as its request is.
//!
//! A parse is CPU work (tens of milliseconds for the largest legal message) that would otherwise
//! hold one of the runtime's few worker threads and stall every request queued behind it. Three
//! things end a parse early, all polled by the reader through `parse_message_cancellable`: the
//! request's future is dropped (the client disconnected, or the request timeout answered 503
//! first), the request's deadline passes, or the service is stopping. The parse's slot moves into
//! the blocking task, so an abandoned parse keeps counting until it has really stopped and the
//! bound on concurrent parses holds.
//!
//! A request finding every slot busy waits up to `xml_parse_wait_ms`, then gets 503
//! `bg.parser.busy` with `Retry-After`: parses take milliseconds, so a short wait absorbs a
//! burst, and a bounded one keeps a flood from queueing bodies without end.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use bondgate_ceb::{CebError, CebMessage, Limits, parse_message_cancellable};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::error::ApiError;
use crate::submission;

/// Runs CEB parses on blocking threads, at most `parses_max` at once.
#[derive(Debug, Clone)]
pub struct ParsePool {
    slots: Arc<Semaphore>,
    wait: Duration,
    retry_after_seconds: u32,
    stopping: CancellationToken,
}

impl ParsePool {
    /// A pool of `parses_max` slots (at least one); `stopping` is cancelled when the service
    /// begins to shut down.
    pub fn new(
        parses_max: usize,
        wait: Duration,
        retry_after_seconds: u32,
        stopping: CancellationToken,
    ) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(parses_max.max(1))),
            wait,
            retry_after_seconds,
            stopping,
        }
    }

    /// Parses `bytes` within `limits` on a blocking thread. The parse stops at `deadline`, when
    /// the service stops, or when this future is dropped.
    pub async fn parse(
        &self,
        bytes: Bytes,
        limits: Limits,
        deadline: Instant,
    ) -> Result<CebMessage, ApiError> {
        let slot = self.acquire().await?;
        let abandoned = Arc::new(AtomicBool::new(false));
        let _abandon_on_drop = AbandonOnDrop(Arc::clone(&abandoned));
        let stopping = self.stopping.clone();
        let task = tokio::task::spawn_blocking(move || {
            let _slot: OwnedSemaphorePermit = slot;
            let cancelled = || {
                abandoned.load(Ordering::Relaxed)
                    || stopping.is_cancelled()
                    || Instant::now() >= deadline
            };
            parse_message_cancellable(&bytes, &limits, &cancelled)
        });
        let parsed = task
            .await
            .map_err(|error| ApiError::Internal(format!("CEB parse task failed: {error}")))?;
        parsed.map_err(|error| self.refusal(error))
    }

    async fn acquire(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        let slot = tokio::time::timeout(self.wait, Arc::clone(&self.slots).acquire_owned());
        tokio::select! {
            biased;
            () = self.stopping.cancelled() => Err(self.stopping_error()),
            acquired = slot => match acquired {
                Ok(Ok(permit)) => Ok(permit),
                // The semaphore is never closed: only the wait can have run out.
                Ok(Err(_)) | Err(_) => Err(ApiError::Unavailable {
                    code: "bg.parser.busy",
                    message: format!(
                        "every CEB parser stayed busy for {} ms; retry later",
                        self.wait.as_millis()
                    ),
                    retry_after_seconds: self.retry_after_seconds,
                }),
            },
        }
    }

    fn refusal(&self, error: CebError) -> ApiError {
        match error {
            CebError::Abandoned if self.stopping.is_cancelled() => self.stopping_error(),
            CebError::Abandoned => ApiError::Unavailable {
                code: "bg.request.timeout",
                message: "the message was not read within the request timeout; retry later"
                    .to_owned(),
                retry_after_seconds: self.retry_after_seconds,
            },
            other => submission::ceb_error(other),
        }
    }

    fn stopping_error(&self) -> ApiError {
        ApiError::Unavailable {
            code: "bg.service.stopping",
            message: "the service is stopping; retry (another instance will answer)".to_owned(),
            retry_after_seconds: self.retry_after_seconds,
        }
    }
}

/// Tells the parse to stop when the request's future is dropped, however that happens.
struct AbandonOnDrop(Arc<AtomicBool>);

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        // A flag read by one other thread, publishing no other data: relaxed is enough.
        self.0.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn legal_message() -> Bytes {
        Bytes::from_static(
            br#"<CEB622Message xmlns="http://www.chinaport.gov.cn/ceb" guid="g" version="1.0">
            <InventoryReturn><guid>g</guid><copNo>c</copNo><preNo>p</preNo>
            <returnStatus>800</returnStatus><returnTime>t</returnTime><returnInfo>i</returnInfo>
            </InventoryReturn></CEB622Message>"#,
        )
    }

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    #[tokio::test]
    async fn a_message_parses_on_the_pool() {
        let pool = ParsePool::new(1, Duration::from_secs(1), 5, CancellationToken::new());
        let message = pool
            .parse(legal_message(), Limits::default(), far())
            .await
            .expect("parses");
        assert_eq!(message.code(), "CEB622");
    }

    #[tokio::test]
    async fn a_stopping_service_refuses_and_abandons_parses() {
        let stopping = CancellationToken::new();
        let pool = ParsePool::new(1, Duration::from_secs(1), 5, stopping.clone());
        stopping.cancel();
        let error = pool
            .parse(legal_message(), Limits::default(), far())
            .await
            .expect_err("stopping");
        assert_eq!(error.code(), "bg.service.stopping");
    }

    #[tokio::test]
    async fn a_passed_deadline_abandons_the_parse() {
        let pool = ParsePool::new(1, Duration::from_secs(1), 5, CancellationToken::new());
        let error = pool
            .parse(legal_message(), Limits::default(), Instant::now())
            .await
            .expect_err("past its deadline");
        assert_eq!(error.code(), "bg.request.timeout");
    }

    #[tokio::test]
    async fn a_request_finding_every_slot_busy_waits_then_gets_busy() {
        let pool = ParsePool::new(1, Duration::from_millis(50), 5, CancellationToken::new());
        let _held = pool.acquire().await.expect("the only slot");
        let error = pool
            .parse(legal_message(), Limits::default(), far())
            .await
            .expect_err("busy");
        assert_eq!(error.code(), "bg.parser.busy");
    }

    #[tokio::test]
    async fn a_cap_is_refused_with_its_code() {
        let pool = ParsePool::new(1, Duration::from_secs(1), 5, CancellationToken::new());
        let limits = Limits {
            elements_max: 3,
            ..Limits::default()
        };
        let error = pool
            .parse(legal_message(), limits, far())
            .await
            .expect_err("over the cap");
        assert_eq!(error.code(), "ceb.too_many_elements");
        assert_eq!(error.status(), axum::http::StatusCode::UNPROCESSABLE_ENTITY);
    }
}
