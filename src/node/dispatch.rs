//! The dispatcher: each datagram, timer and query goes to the one owner of the work —
//! the server, the search or walk an answer belongs to, a caller's ping, maintenance —
//! and what the owners want sent is registered as a transaction and queued.

use super::outgoing::{OutBody, Outgoing, Tid};
use super::search::{Judge, Kind, Request, Role, Search};
use super::transactions::Pending;
use super::walk::{Reach, Walk};
use super::{Dht, Event, MAX_ECHOED_TRANSACTION_ID, Mode, Purpose, QueryId};
use crate::addr::Family;
use crate::id::Id;
use crate::krpc::{ErrorCode, ErrorMessage, Message, Query, QueryKind, Response};
use crate::routing::{Insert, Node};
use crate::time::Instant;
use alloc::vec::Vec;
use core::net::SocketAddr;
use core::time::Duration;

impl Dht {
    /// Registers and queues a query. False if the transaction table is full.
    pub(super) fn send_query(
        &mut self,
        to: SocketAddr,
        expect: Option<Id>,
        body: OutBody,
        purpose: Purpose,
    ) -> bool {
        // Pings, seed queries, announce_peer and put are sent again on timeout; lookup
        // queries are not (the lookup moves on to other candidates after its soft
        // timeout). A seed query has no such fallback: it goes to a bootstrap address,
        // often the only one, and a lost datagram would leave the node alone until the
        // re-bootstrap backoff.
        let retries = match purpose {
            Purpose::Ping { .. }
            | Purpose::Search {
                role: Role::Seed(_) | Role::Store,
                ..
            } => self.config.query_retries,
            Purpose::Search {
                role: Role::Lookup(_),
                ..
            }
            | Purpose::Walk { .. } => 0,
        };
        self.send_query_with(to, expect, body, purpose, retries)
    }

    fn send_query_with(
        &mut self,
        to: SocketAddr,
        expect: Option<Id>,
        body: OutBody,
        purpose: Purpose,
        retries: u8,
    ) -> bool {
        let now = self.now;
        let pending = Pending {
            to,
            expect,
            sent: now,
            deadline: now + self.config.query_timeout,
            purpose,
            resend: (retries > 0).then(|| (retries, body.clone())),
        };
        let soonest = now
            + self
                .config
                .query_timeout
                .min(self.config.lookup.soft_timeout);
        self.timer_hint = self.timer_hint.min(soonest);
        let Some(tid) = self.transactions.insert(&mut self.rng, pending) else {
            self.stats.transactions_full = self.stats.transactions_full.saturating_add(1);
            return false;
        };
        let mut t = Tid::new();
        let _ = t.try_extend_from_slice(&tid);
        self.outbox.push(Outgoing { to, tid: t, body });
        true
    }

    pub(super) fn run_timers(&mut self, now: Instant) {
        let mut expired = core::mem::take(&mut self.expired);
        self.transactions.expire(now, &mut expired);
        for p in expired.drain(..) {
            self.stats.timeouts = self.stats.timeouts.saturating_add(1);
            self.on_failed(p, true);
        }
        self.expired = expired;
        // Every search whose soft timeouts passed, or whose queries just failed, has
        // something to do; the others do nothing when driven.
        let ids: Vec<QueryId> = self.searches.iter().map(|s| s.id).collect();
        for id in ids {
            self.drive_search(id);
        }
        let ids: Vec<QueryId> = self.walks.iter().map(|w| w.id).collect();
        for id in ids {
            self.drive_walk(id);
        }
        self.maintain(now);
        if self.maintenance.sweep_due(now) {
            self.server.sweep(now);
        }
        if self.maintenance.bootstrap_due(now) && self.is_lost(now) {
            self.rebootstrap();
        }
        self.run_standing(now);
        self.timer_hint = self.poll_timeout().unwrap_or(Instant::MAX);
    }

    /// Answers a query: the server decides the answer, the routing table hears of the
    /// querier.
    pub(super) fn on_query(
        &mut self,
        now: Instant,
        from: SocketAddr,
        msg: &Message<'_>,
        q: &Query<'_>,
    ) {
        if self.config.mode == Mode::ReadOnly {
            self.stats.ignored_read_only = self.stats.ignored_read_only.saturating_add(1);
            return;
        }
        if !self.rate_allows(now, from) {
            return;
        }
        let tid = msg.transaction_id;
        if tid.len() > MAX_ECHOED_TRANSACTION_ID {
            self.stats.bad_datagrams = self.stats.bad_datagrams.saturating_add(1);
            return;
        }
        // A query refreshes a known node; it never adds one. An unknown querier the table
        // has room for is pinged (after the answer is queued), and enters only if it
        // answers.
        let verify = !msg.read_only
            && match self.tables.get_mut(Family::of(&from)) {
                Some(t) => {
                    let node = Node {
                        id: q.id,
                        addr: from,
                    };
                    !t.on_query(now, node) && !t.knows_addr(&from) && t.wants(&q.id)
                }
                None => false,
            };
        if let QueryKind::Ping = q.kind {
            // The most common query, answered without asking the server.
            self.stats.served.ping = self.stats.served.ping.saturating_add(1);
            self.outbox.push_answer(from, tid, OutBody::ReplyEmpty);
        } else {
            let families = self.tables.families();
            match self.server.answer(now, from, q, families, &mut self.stats) {
                Ok(body) => {
                    self.stats.served.count(&q.kind);
                    self.outbox.push_answer(from, tid, body);
                }
                Err((code, message)) => self.reply_error(from, tid, code, message),
            }
        }
        if verify && self.transactions.len() < self.config.max_transactions / 2 {
            self.send_query(
                from,
                Some(q.id),
                OutBody::QueryPing,
                Purpose::Ping { query: None },
            );
        }
    }

    fn reply_error(&mut self, to: SocketAddr, tid: &[u8], code: ErrorCode, message: &'static str) {
        let Ok(tid) = Tid::try_from(tid) else {
            self.stats.bad_datagrams = self.stats.bad_datagrams.saturating_add(1);
            return;
        };
        self.stats.errors_sent = self.stats.errors_sent.saturating_add(1);
        self.outbox.push(Outgoing {
            to,
            tid,
            body: OutBody::Error { code, message },
        });
    }

    /// A query we could not decode but whose `t` we read: error 203.
    pub(super) fn reply_malformed(&mut self, now: Instant, from: SocketAddr, t: &[u8]) {
        if self.config.mode == Mode::ReadOnly || !self.rate_allows(now, from) {
            return;
        }
        self.reply_error(from, t, ErrorCode::Protocol, "malformed query");
    }

    /// Asks the rate limit about a query from `from` and counts what it dropped.
    #[inline]
    fn rate_allows(&mut self, now: Instant, from: SocketAddr) -> bool {
        use super::ratelimit::Verdict;
        let s = &mut self.stats;
        match self.server.rate.allow(now, from.ip()) {
            Verdict::Allow => return true,
            Verdict::Limit => s.rate_limited = s.rate_limited.saturating_add(1),
            Verdict::LimitAndBlock => {
                s.rate_limited = s.rate_limited.saturating_add(1);
                s.sources_blocked = s.sources_blocked.saturating_add(1);
            }
            Verdict::Blocked => s.blocked = s.blocked.saturating_add(1),
        }
        false
    }

    /// A response: matched to its transaction, offered to the routing table, and handed
    /// to the one search, walk or ping it answers.
    pub(super) fn on_response(
        &mut self,
        now: Instant,
        from: SocketAddr,
        msg: &Message<'_>,
        r: &Response<'_>,
    ) {
        let Some(p) = self.transactions.take(msg.transaction_id, from) else {
            self.stats.unmatched = self.stats.unmatched.saturating_add(1);
            return;
        };
        if p.expect.is_some_and(|e| e != r.id) {
            // Someone else answers at that address: the expected node failed.
            let purpose = p.purpose;
            self.on_failed(p, true);
            if let Purpose::Search { query, .. } = purpose {
                self.drive_search(query);
            }
            return;
        }
        let node = Node {
            id: r.id,
            addr: from,
        };
        let rtt = now.saturating_duration_since(p.sent);
        if !msg.read_only {
            self.learn(now, node, Some(rtt));
            if let Some(seen) = msg.ip {
                self.on_vote(now, from.ip(), seen.ip());
            }
        }
        match p.purpose {
            Purpose::Search { query, role } => {
                let judge = Judge {
                    own_id: &self.id,
                    local: self.config.routing.local_addresses,
                    verifier: self.server.verifier.as_deref().map(|v| v as _),
                };
                let Some(s) = self.searches.iter_mut().find(|s| s.id == query) else {
                    return;
                };
                if !s.on_response(now, role, node, r, &judge, &mut self.events) {
                    self.stats.bad_items = self.stats.bad_items.saturating_add(1);
                }
                self.drive_search(query);
            }
            Purpose::Walk { query } => {
                let reach = Reach {
                    own_id: &self.id,
                    families: self.tables.families(),
                    local: self.config.routing.local_addresses,
                };
                let Some(w) = self.walks.iter_mut().find(|w| w.id == query) else {
                    return;
                };
                let event = w.on_response(node, r, &reach);
                self.events.push(event);
                self.drive_walk(query);
            }
            Purpose::Ping { query: Some(query) } => {
                self.events.push(Event::Pong { query, node, rtt })
            }
            Purpose::Ping { query: None } => {}
        }
    }

    /// A query failed: timed out (`timed_out`) or answered with an error. A timed-out
    /// query with tries left is sent again instead.
    pub(super) fn on_failed(&mut self, mut p: Pending<Purpose>, timed_out: bool) {
        let now = self.now;
        if timed_out {
            if let Some((left, body)) = p.resend.take() {
                // A fresh transaction id: a late answer to the first try is unmatched.
                self.stats.retries = self.stats.retries.saturating_add(1);
                let retries = left.saturating_sub(1);
                if self.send_query_with(p.to, p.expect, body, p.purpose, retries) {
                    return;
                }
            }
            if let Some(id) = p.expect {
                if let Some(t) = self.tables.get_mut(Family::of(&p.to)) {
                    t.on_failure(now, &id);
                }
            }
        }
        match p.purpose {
            // The caller drives the search: at once for an error or a wrong answerer,
            // after every expired transaction for timeouts.
            Purpose::Search { query, role } => {
                if let Some(s) = self.search_mut(query) {
                    s.on_failure(role, p.to, p.expect);
                }
            }
            Purpose::Walk { query } => {
                if let Some(w) = self.walks.iter_mut().find(|w| w.id == query) {
                    w.on_failure();
                    self.drive_walk(query);
                }
            }
            Purpose::Ping { query: Some(query) } => {
                self.events.push(Event::PingTimeout { query, addr: p.to })
            }
            Purpose::Ping { query: None } => {}
        }
    }

    /// Offers a node that answered us to its routing table, acting on the decision.
    pub(super) fn learn(&mut self, now: Instant, node: Node, rtt: Option<Duration>) {
        let decision = match self.tables.get_mut(Family::of(&node.addr)) {
            Some(t) => t.on_response(now, node, rtt),
            None => return,
        };
        // A table that was empty now needs maintenance; a node out of touch notices the
        // answer at its next tick.
        self.maintenance.on_answer();
        self.timer_hint = self.timer_hint.min(self.maintenance.next_tick);
        if let Insert::PingFirst { questionable } = decision {
            self.send_query(
                questionable.addr,
                Some(questionable.id),
                OutBody::QueryPing,
                Purpose::Ping { query: None },
            );
        }
    }

    pub(super) fn search_mut(&mut self, query: QueryId) -> Option<&mut Search> {
        self.searches.iter_mut().find(|s| s.id == query)
    }

    /// Sends what search `id` wants sent now, and finishes it if it is over.
    pub(super) fn drive_search(&mut self, id: QueryId) {
        let now = self.now;
        while let Some(req) = self.search_mut(id).and_then(|s| s.next_lookup_query(now)) {
            let step = matches!(req.role, Role::Lookup(_));
            if !self.send_request(id, req) && step {
                // The transaction table is full: the lookup waits for its next turn.
                break;
            }
        }
        while let Some(req) = self.search_mut(id).and_then(Search::next_store_query) {
            self.send_request(id, req);
        }
        let nodes = self.tables.len();
        let Some(index) = self.searches.iter().position(|s| s.id == id) else {
            return;
        };
        let Some(event) = self
            .searches
            .get_mut(index)
            .and_then(|s| s.poll_finished(now, nodes))
        else {
            return;
        };
        let s = self.searches.swap_remove(index);
        let event = match s.kind() {
            Kind::Bootstrap => self.bootstrap_finished(&s, event),
            _ => event,
        };
        if let Some(e) = event {
            self.events.push(e);
        }
        if s.kind().is_command() {
            if self.finished.len() >= self.config.max_finished.max(1) {
                self.finished.pop_front();
            }
            // As `searches`: grown one at a time, never past `max_finished`.
            self.finished.reserve_exact(1);
            self.finished.push_back(s);
        }
    }

    /// Sends a search's request; false (after telling the search) if it could not go.
    fn send_request(&mut self, id: QueryId, req: Request) -> bool {
        let (to, expect, role) = (req.to, req.expect, req.role);
        let purpose = Purpose::Search { query: id, role };
        if self.send_query(to, expect, req.body, purpose) {
            return true;
        }
        if let Some(s) = self.search_mut(id) {
            s.on_failure(role, to, expect);
        }
        false
    }

    /// Sends what walk `id` may send now, and ends it when it is over.
    pub(super) fn drive_walk(&mut self, id: QueryId) {
        let now = self.now;
        while let Some(to) = self
            .walks
            .iter_mut()
            .find(|w| w.id == id)
            .and_then(|w| w.next_query(now))
        {
            let target = Id::from_bytes(self.rng.bytes());
            let purpose = Purpose::Walk { query: id };
            if self.send_query(to, None, OutBody::QuerySample { target }, purpose) {
                if let Some(w) = self.walks.iter_mut().find(|w| w.id == id) {
                    w.on_sent();
                }
            }
        }
        let Some(index) = self.walks.iter().position(|w| w.id == id) else {
            return;
        };
        if let Some(at) = self.walks.get(index).and_then(Walk::next_deadline) {
            // Queued nodes wait for their turn: the timers must run by then.
            self.timer_hint = self.timer_hint.min(at);
        }
        if let Some(event) = self.walks.get(index).and_then(|w| w.poll_finished(now)) {
            self.walks.swap_remove(index);
            self.events.push(event);
        }
    }

    /// An error answer: the node is alive but refused; the query failed, the node did not.
    /// An error that names its sender (`r.id`, as libtorrent sends) counts as an answer
    /// for the routing table; one that names another node than expected is a failure.
    pub(super) fn on_error(
        &mut self,
        now: Instant,
        from: SocketAddr,
        msg: &Message<'_>,
        e: &ErrorMessage<'_>,
    ) {
        let Some(p) = self.transactions.take(msg.transaction_id, from) else {
            self.stats.unmatched = self.stats.unmatched.saturating_add(1);
            return;
        };
        let purpose = p.purpose;
        if let Some(id) = e.id {
            if p.expect.is_some_and(|x| x != id) {
                self.on_failed(p, true);
                if let Purpose::Search { query, .. } = purpose {
                    self.drive_search(query);
                }
                return;
            }
            if !msg.read_only {
                let rtt = now.saturating_duration_since(p.sent);
                self.learn(now, Node { id, addr: from }, Some(rtt));
            }
        }
        if let Purpose::Search {
            query,
            role: Role::Store,
        } = purpose
        {
            if let Some(s) = self.search_mut(query) {
                s.on_refused(e.code);
            }
        }
        self.on_failed(p, false);
        if let Purpose::Search { query, .. } = purpose {
            self.drive_search(query);
        }
    }
}
