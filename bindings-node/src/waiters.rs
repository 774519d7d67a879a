//! Bulkhead waiters. A call the bulkhead queues waits in JS (a Promise, no polling) until the
//! call that frees a slot hands it over: the core names the ticket to wake (`Bulkhead::leave`,
//! `PolicyCall::take_wake`) and this table finds who holds that ticket and on which thread.
//!
//! Every bulkhead operation of the binding runs under this table's lock, so a ticket is in the
//! table from the moment the core queues it until it is woken or given up: a wake can never
//! miss its waiter. A waiter whose thread has exited cannot take the slot it is handed, so the
//! slot is passed on at once (`leave` again) instead of leaking.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use breakwater_core::{Bulkhead, Ticket};
use parking_lot::{Mutex, MutexGuard};

use crate::host::{self, Inbox};

struct Waiter {
    /// The waiter's id on its thread (the `+id` inbox message).
    id: u32,
    owner: usize,
    inbox: Option<Arc<Inbox>>,
    /// Keeps the bulkhead (and so the key's address) alive while the ticket is queued.
    _bulkhead: Arc<Bulkhead>,
}

impl Waiter {
    fn deliver(&self) -> bool {
        let msg = f64::from(self.id);
        if self.owner == host::thread_key() {
            host::post_local(msg);
            true
        } else {
            self.inbox.as_ref().is_some_and(|i| i.post(msg))
        }
    }
}

#[derive(Default)]
pub struct Table {
    waiters: HashMap<(usize, u64), Waiter>,
}

static TABLE: LazyLock<Mutex<Table>> = LazyLock::new(|| Mutex::new(Table::default()));

/// Takes the lock every bulkhead operation runs under.
pub fn lock() -> MutexGuard<'static, Table> {
    TABLE.lock()
}

fn key(bulkhead: &Arc<Bulkhead>, ticket: Ticket) -> (usize, u64) {
    (Arc::as_ptr(bulkhead) as usize, ticket.0)
}

impl Table {
    /// Records that this thread waits for `ticket`; returns the waiter's id.
    pub fn register(&mut self, bulkhead: &Arc<Bulkhead>, ticket: Ticket) -> u32 {
        let id = host::next_id();
        self.waiters.insert(
            key(bulkhead, ticket),
            Waiter {
                id,
                owner: host::thread_key(),
                inbox: host::inbox(),
                _bulkhead: bulkhead.clone(),
            },
        );
        id
    }

    /// The waiter stopped waiting (timed out, cancelled); a no-op when it was already woken.
    pub fn forget(&mut self, bulkhead: &Arc<Bulkhead>, ticket: Ticket) {
        self.waiters.remove(&key(bulkhead, ticket));
    }

    /// Wakes the holder of `ticket`, which the bulkhead just handed a slot. When it cannot
    /// take it (its thread is gone), the slot goes to the next in line, or is freed.
    pub fn wake(&mut self, bulkhead: &Arc<Bulkhead>, ticket: Ticket) {
        let mut ticket = ticket;
        loop {
            if self
                .waiters
                .remove(&key(bulkhead, ticket))
                .is_some_and(|w| w.deliver())
            {
                return;
            }
            match bulkhead.leave() {
                Some(next) => ticket = next,
                None => return,
            }
        }
    }
}
