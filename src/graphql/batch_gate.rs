//! Makes DataLoader batching independent of timing.
//!
//! async-graphql's DataLoader starts a batch a fixed delay after its first key, so on a
//! loaded machine a slow list can split into two batches (two Keka requests where one would
//! do). The gate holds every batch task a request spawns until the request's own task goes
//! idle: it returned `Pending` without waking itself, so every sibling resolver that was
//! going to ask for a key has asked. Only then are the held batches released.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use futures::future::BoxFuture;

/// Batches held until the request goes idle and none of its batches is still running.
#[derive(Clone, Default)]
pub struct BatchGate {
    state: Arc<GateState>,
}

#[derive(Default)]
struct GateState {
    held: Mutex<Vec<BoxFuture<'static, ()>>>,
    /// Batches released and not finished. Their answers may ask for more keys (the managers of the people a batch
    /// brought), so new batches wait for them: one wave of look-ups, not one per batch that happened to end first.
    running: AtomicUsize,
    /// The request's task, woken when the last running batch ends while others are held.
    request: Mutex<Option<Waker>>,
}

impl BatchGate {
    pub fn new() -> Self {
        Self::default()
    }

    /// The DataLoader spawner: holds the batch instead of starting it.
    pub fn hold(&self, batch: BoxFuture<'static, ()>) {
        self.state.held.lock().unwrap_or_else(PoisonError::into_inner).push(batch);
    }

    fn release(&self) {
        let batches = std::mem::take(&mut *self.state.held.lock().unwrap_or_else(PoisonError::into_inner));
        if !batches.is_empty() {
            tracing::debug!(batches = batches.len(), "released DataLoader batches");
        }
        for batch in batches {
            self.state.running.fetch_add(1, Ordering::SeqCst);
            let state = self.state.clone();
            tokio::spawn(async move {
                batch.await;
                // Counted down before looking for held batches, so either the request sees none running when it
                // goes idle, or this sees what it held and wakes it.
                let last = state.running.fetch_sub(1, Ordering::SeqCst) == 1;
                let waiting = !state.held.lock().unwrap_or_else(PoisonError::into_inner).is_empty();
                if last
                    && waiting
                    && let Some(request) = state.request.lock().unwrap_or_else(PoisonError::into_inner).as_ref()
                {
                    request.wake_by_ref();
                }
            });
        }
    }

    /// Batches held now (for the log line of a request cut off by the net).
    pub fn held(&self) -> usize {
        self.state.held.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Runs the request, releasing held batches whenever it goes idle with none running (and when it ends).
    pub fn run<F: Future>(&self, request: F) -> Gated<F> {
        Gated { request: Box::pin(request), gate: self.clone() }
    }
}

pub struct Gated<F> {
    request: Pin<Box<F>>,
    gate: BatchGate,
}

/// Wraps the task's waker to notice whether the request woke itself while being polled.
struct WakeWatch {
    inner: Waker,
    woken: AtomicBool,
}

impl Wake for WakeWatch {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.inner.wake_by_ref();
    }
}

impl<F: Future> Future for Gated<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        {
            let mut request = self.gate.state.request.lock().unwrap_or_else(PoisonError::into_inner);
            if !request.as_ref().is_some_and(|known| known.will_wake(cx.waker())) {
                *request = Some(cx.waker().clone());
            }
        }
        let watch = Arc::new(WakeWatch { inner: cx.waker().clone(), woken: AtomicBool::new(false) });
        let waker = Waker::from(watch.clone());
        let outcome = self.request.as_mut().poll(&mut Context::from_waker(&waker));
        if outcome.is_ready() {
            self.gate.release();
            return outcome;
        }
        if watch.woken.load(Ordering::Acquire) {
            // Busy and coming straight back: batches wait for a poll that ends idle.
            return outcome;
        }
        if !tokio::task::coop::has_budget_remaining() {
            // Out of cooperative budget, the request cannot tell idle from busy: tokio defers the
            // wake of a resource that refused for lack of budget until after this poll, but a
            // budget spent to exactly zero by ready operations registers no wake at all. Holding
            // the batches then would leave a request waiting on its own batches until something
            // else happened to wake it. So come straight back and decide on a fresh budget.
            cx.waker().wake_by_ref();
            return outcome;
        }
        if self.gate.state.running.load(Ordering::SeqCst) == 0 {
            self.gate.release();
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    use super::*;

    struct SelfWakingYield(bool);

    impl Future for SelfWakingYield {
        type Output = ();

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                return Poll::Ready(());
            }
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    /// A request that spends its cooperative budget to exactly zero on ready operations, then
    /// waits on its batch through a channel that takes no part in the budget (as DataLoader's do).
    #[tokio::test]
    async fn a_request_out_of_budget_still_gets_its_batches() {
        let gate = BatchGate::new();
        let (done_tx, done_rx) = futures::channel::oneshot::channel::<usize>();
        let request = {
            let gate = gate.clone();
            async move {
                gate.hold(Box::pin(async move {
                    let _ = done_tx.send(7);
                }));
                let mut spent = 0;
                while tokio::task::coop::has_budget_remaining() && spent < 10_000 {
                    tokio::task::coop::consume_budget().await;
                    spent += 1;
                }
                done_rx.await.unwrap()
            }
        };

        let answer = tokio::time::timeout(std::time::Duration::from_secs(30), gate.run(request)).await;

        assert_eq!(answer.ok(), Some(7), "the held batch was never released");
    }

    #[tokio::test]
    async fn held_batches_start_only_once_the_request_is_idle() {
        let gate = BatchGate::new();
        let started = Arc::new(AtomicUsize::new(0));
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<usize>();
        let request = {
            let gate = gate.clone();
            let started = started.clone();
            async move {
                let counter = started.clone();
                gate.hold(Box::pin(async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let _ = done_tx.send(1);
                }));
                // Busy: yields by waking itself (as `FuturesUnordered` does), so the batch must still be held.
                SelfWakingYield(false).await;
                let held_while_busy = started.load(Ordering::SeqCst);
                // Idle: waits for the batch, which the gate must now release.
                let batch_result = done_rx.await.unwrap();
                (held_while_busy, batch_result)
            }
        };

        let (held_while_busy, batch_result) = gate.run(request).await;

        assert_eq!(held_while_busy, 0);
        assert_eq!(batch_result, 1);
        assert_eq!(started.load(Ordering::SeqCst), 1);
    }

    /// A request refused by a tokio resource for lack of budget is busy: its batches stay held until it goes idle.
    #[tokio::test]
    async fn a_request_refused_for_lack_of_budget_keeps_its_batches_held() {
        let gate = BatchGate::new();
        let started = Arc::new(AtomicUsize::new(0));
        let (message_tx, mut message_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        message_tx.send(()).unwrap();
        let (done_tx, done_rx) = futures::channel::oneshot::channel::<usize>();
        let request = {
            let gate = gate.clone();
            let started = started.clone();
            async move {
                let counter = started.clone();
                gate.hold(Box::pin(async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let _ = done_tx.send(1);
                }));
                spend_budget_here().await;
                // Refused (a deferred wake, not one during the poll); received on the next poll.
                message_rx.recv().await.unwrap();
                let held_while_busy = started.load(Ordering::SeqCst);
                (held_while_busy, done_rx.await.unwrap())
            }
        };

        let answer = tokio::time::timeout(Duration::from_secs(30), gate.run(request)).await;

        assert_eq!(answer.ok(), Some((0, 1)), "a busy request's batch was released early, or never");
    }

    /// Spends the task's cooperative budget to zero on ready operations, within the current poll.
    async fn spend_budget_here() {
        std::future::poll_fn(|cx| {
            spend_budget(cx);
            Poll::Ready(())
        })
        .await;
    }

    /// Spends the task's cooperative budget to zero on `consume_budget`, each ready at once, in the current poll.
    fn spend_budget(cx: &mut Context<'_>) {
        let mut spent = 0;
        while tokio::task::coop::has_budget_remaining() {
            let spend = std::pin::pin!(tokio::task::coop::consume_budget());
            assert!(
                spend.poll(cx).is_ready() && spent < 10_000,
                "BatchGate relies on tokio's cooperative budget: `consume_budget` should be ready while \
                 `has_budget_remaining()` and the budget should run out (spent {spent})"
            );
            spent += 1;
        }
    }

    /// A waker that records whether it was woken, as `Gated::poll` watches the request.
    fn watched(cx: &Context<'_>) -> (Arc<WakeWatch>, Waker) {
        let watch = Arc::new(WakeWatch { inner: cx.waker().clone(), woken: AtomicBool::new(false) });
        (watch.clone(), Waker::from(watch))
    }

    /// Runs `probe` as a spawned task (as the server runs requests) on each of tokio's runtimes, with a
    /// bound: a probe left waiting for a wake that never comes fails instead of hanging.
    fn on_each_runtime<F>(probe: impl Fn() -> F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let runtimes = [
            ("current_thread", tokio::runtime::Builder::new_current_thread().enable_time().build()),
            ("multi_thread", tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_time().build()),
        ];
        for (flavor, runtime) in runtimes {
            let runtime = runtime.expect("a tokio runtime");
            let joined =
                runtime.block_on(async { tokio::time::timeout(Duration::from_secs(10), tokio::spawn(probe())).await });
            match joined {
                Ok(Ok(())) => {}
                Ok(Err(error)) => std::panic::resume_unwind(error.into_panic()),
                Err(_) => panic!(
                    "BatchGate relies on tokio's cooperative budget: on the {flavor} runtime a task out of budget was \
                     never polled again (a wake tokio used to deliver did not come)"
                ),
            }
        }
    }

    /// `Gated::poll` wakes a request out of budget and decides on its next poll, which must find budget again
    /// (else the request would spin on its own wakes).
    #[test]
    fn tokio_gives_a_task_spent_to_zero_budget_again_on_its_next_poll() {
        on_each_runtime(|| async {
            let mut polls = 0;
            std::future::poll_fn(|cx| {
                polls += 1;
                if polls == 1 {
                    spend_budget(cx);
                    assert!(
                        !tokio::task::coop::has_budget_remaining(),
                        "BatchGate relies on `has_budget_remaining()` being false once a poll spent the budget"
                    );
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                assert!(
                    tokio::task::coop::has_budget_remaining(),
                    "BatchGate relies on tokio giving a task budget again on its next poll"
                );
                Poll::Ready(())
            })
            .await;
        });
    }

    /// A tokio resource that refuses for lack of budget wakes the task only after the poll: `Gated::poll` cannot
    /// see that wake, which is why it consults the budget; and the wake does come, so the request is polled again.
    #[test]
    fn tokio_defers_the_wake_of_a_resource_refused_for_lack_of_budget_until_after_the_poll() {
        on_each_runtime(|| async {
            let (message_tx, mut message_rx) = tokio::sync::mpsc::unbounded_channel::<u8>();
            message_tx.send(7).unwrap();
            let mut watch = None;
            std::future::poll_fn(|cx| {
                let Some(watch) = &watch else {
                    spend_budget(cx);
                    let (seen, waker) = watched(cx);
                    assert!(
                        message_rx.poll_recv(&mut Context::from_waker(&waker)).is_pending(),
                        "BatchGate relies on tokio resources refusing a task out of budget (mpsc with a message ready)"
                    );
                    assert!(
                        !seen.woken.load(Ordering::Acquire),
                        "BatchGate: tokio now wakes a task refused for lack of budget during the poll, not after it; \
                         revisit the budget case in `Gated::poll`"
                    );
                    watch = Some(seen);
                    return Poll::Pending;
                };
                assert!(
                    watch.woken.load(Ordering::Acquire),
                    "BatchGate relies on the deferred wake going through the waker the resource was given"
                );
                assert_eq!(
                    message_rx.poll_recv(cx),
                    Poll::Ready(Some(7)),
                    "with budget again, the message is received"
                );
                Poll::Ready(())
            })
            .await;
        });
    }

    /// Spending the budget to exactly zero on ready operations registers no wake at all, during the poll or after:
    /// why `Gated::poll` must wake a request out of budget itself rather than wait.
    #[test]
    fn tokio_registers_no_wake_for_a_budget_spent_to_zero_by_ready_operations() {
        on_each_runtime(|| async {
            let mut watch = None;
            std::future::poll_fn(|cx| {
                let Some(watch) = &watch else {
                    let (seen, waker) = watched(cx);
                    spend_budget(&mut Context::from_waker(&waker));
                    // `yield_now` defers its wake with the others of this poll, so the next poll comes after them all.
                    let yielded = std::pin::pin!(tokio::task::yield_now()).poll(cx);
                    assert!(yielded.is_pending());
                    watch = Some(seen);
                    return Poll::Pending;
                };
                assert!(
                    !watch.woken.load(Ordering::Acquire),
                    "BatchGate: tokio now wakes a task whose budget ready operations spent to zero; the budget case \
                     in `Gated::poll` (and its comment) may be simplified"
                );
                Poll::Ready(())
            })
            .await;
        });
    }
}
